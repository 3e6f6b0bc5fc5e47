//! The progress bar: drawn on stderr only when it is a terminal and `--quiet` is off, with
//! bytes of input consumed, documents per second and an ETA (input sizes are known).

use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar, or nothing.
pub struct Progress {
    bar: Option<ProgressBar>,
    docs: u64,
    start: Instant,
}

impl Progress {
    /// A bar over `total_bytes` of input; hidden unless `enabled`.
    pub fn new(total_bytes: u64, enabled: bool) -> Progress {
        let bar = enabled.then(|| {
            let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}) {msg} ETA {eta}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar
        });
        Progress { bar, docs: 0, start: Instant::now() }
    }

    /// Records `bytes` of input and `docs` documents read.
    pub fn advance(&mut self, bytes: u64, docs: u64) {
        self.docs += docs;
        if let Some(b) = &self.bar {
            b.inc(bytes);
            let secs = self.start.elapsed().as_secs_f64().max(1e-3);
            b.set_message(format!("{} docs, {:.0} docs/s", self.docs, self.docs as f64 / secs));
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

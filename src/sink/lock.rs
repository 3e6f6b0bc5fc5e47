//! The lock on a run's output directory: `dir/.sluice.lock`, created with `create_new` and held
//! for the whole run, so that a second run into the same directory fails at once with a message
//! naming the holder (pid, host, start time). A lock left by a process that died on this host is
//! detected as stale, reported, and taken over; a lock from another host is never taken over,
//! since its process cannot be checked from here.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Name of the lock file inside the output directory.
pub const LOCK_FILE_NAME: &str = ".sluice.lock";

/// An unparseable lock file (e.g. one still being written) counts as stale only once it has not
/// been modified for this long.
const UNPARSEABLE_STALE_AFTER: Duration = Duration::from_secs(60);

/// How many times [`OutputLock::acquire`] tries `create_new` before giving up, when stale locks
/// keep being taken over by other processes between its tries.
const MAX_ATTEMPTS: usize = 5;

/// Makes tokens unique between locks taken in the same nanosecond by one process.
static TOKEN_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The held lock on an output directory; dropping it removes the lock file if it is still ours.
#[derive(Debug)]
pub struct OutputLock {
    /// The lock file, `dir/.sluice.lock`.
    path: PathBuf,
    /// What we wrote into the lock file.
    holder: LockHolder,
}

/// The contents of a lock file: who holds the lock, and since when.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LockHolder {
    /// Process id of the holder.
    pub pid: u32,
    /// Host name of the machine the holder runs on.
    pub host: String,
    /// When the lock was taken, in seconds since the Unix epoch.
    pub started_unix: u64,
    /// When the lock was taken, RFC 3339 in UTC (e.g. `2026-12-03T08:02:44Z`).
    pub started: String,
    /// What the holder is doing, e.g. `run` or `finalize`.
    pub purpose: String,
    /// Unique token of this lock (pid, nanoseconds and a counter, in hex), so a process only
    /// ever removes its own lock file.
    pub token: String,
    /// On Linux, the start time of the holder process (field 22 of `/proc/<pid>/stat`, in clock
    /// ticks since boot), to tell the holder from a later process that reuses its pid.
    pub proc_start: Option<u64>,
}

/// What [`OutputLock::acquire`] found in an existing lock file.
enum Existing {
    /// The lock file disappeared before it could be read: just try again.
    Vanished,
    /// A live process (or one we cannot check) holds it; `None` when the file is unreadable.
    Held(Option<LockHolder>),
    /// The lock is stale; `bytes` is the file content that was judged stale.
    Stale { holder: Option<LockHolder>, bytes: Vec<u8>, age: Duration },
}

impl OutputLock {
    /// Takes the lock file `dir/.sluice.lock` (creates `dir` if missing). `purpose` is a short
    /// label recorded in the file, e.g. "run" or "finalize".
    ///
    /// Fails with [`Error::Input`] naming the holder when another live process holds the lock,
    /// or when the lock file is on another host or cannot be parsed yet. A stale lock (same
    /// host, dead process) is logged with a warning and taken over.
    pub fn acquire(dir: &Path, purpose: &str) -> Result<OutputLock> {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let path = dir.join(LOCK_FILE_NAME);
        let holder = LockHolder::for_this_process(purpose);
        let json = serde_json::to_string_pretty(&holder)
            .map_err(|e| Error::Internal(format!("cannot serialize the lock holder: {e}")))?;
        for _ in 0..MAX_ATTEMPTS {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    if let Err(e) = write_lock_file(file, &json) {
                        // The half-written file is ours: do not leave it behind.
                        let _ = fs::remove_file(&path);
                        return Err(Error::io(&path, e));
                    }
                    sync_dir(dir);
                    return Ok(OutputLock { path, holder });
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io(&path, e)),
            }
            match inspect(&path)? {
                Existing::Vanished => {}
                Existing::Held(found) => return Err(locked_error(&path, found.as_ref())),
                Existing::Stale { holder: found, bytes, age } => {
                    warn_stale(&path, found.as_ref(), age);
                    remove_if_unchanged(dir, &path, &bytes)?;
                }
            }
        }
        Err(Error::input(
            path.display().to_string(),
            format!(
                "could not take the output directory lock: it changed hands {MAX_ATTEMPTS} times \
                 while sluice tried to take it (other sluice runs are starting in the same \
                 output directory); try again, or use another output directory"
            ),
        ))
    }

    /// What the lock file says (for messages), if it exists.
    pub fn holder(dir: &Path) -> Option<LockHolder> {
        let bytes = fs::read(dir.join(LOCK_FILE_NAME)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The lock file this lock holds.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What this lock wrote into its lock file.
    pub fn info(&self) -> &LockHolder {
        &self.holder
    }
}

impl Drop for OutputLock {
    /// Removes the lock file, but only if it still holds our pid and token: a lock file that was
    /// replaced by hand or by another process is never deleted. Errors are ignored.
    fn drop(&mut self) {
        let Ok(bytes) = fs::read(&self.path) else { return };
        let Ok(found) = serde_json::from_slice::<LockHolder>(&bytes) else { return };
        if found.pid == self.holder.pid && found.token == self.holder.token {
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl LockHolder {
    /// The holder record for this process, taken now.
    fn for_this_process(purpose: &str) -> LockHolder {
        let pid = std::process::id();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let count = TOKEN_COUNTER.fetch_add(1, Ordering::Relaxed);
        LockHolder {
            pid,
            host: hostname(),
            started_unix: now.as_secs(),
            started: rfc3339_utc(now.as_secs()),
            purpose: purpose.to_string(),
            token: format!("{pid:x}-{:x}-{count:x}", now.as_nanos()),
            proc_start: proc_start_time(pid),
        }
    }

    /// True when the holder is known to be gone: same host, and its pid is not running (or now
    /// belongs to a process that started later). A holder on another host is never stale.
    fn is_stale(&self) -> bool {
        self.host == hostname() && !process_alive(self.pid, self.proc_start)
    }
}

/// Writes the lock JSON into the freshly created lock file and syncs it to disk.
fn write_lock_file(mut file: File, json: &str) -> std::io::Result<()> {
    file.write_all(json.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// Best effort: syncs the directory so the new lock file's entry is durable.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Reads an existing lock file and decides whether it is held or stale.
fn inspect(path: &Path) -> Result<Existing> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Existing::Vanished),
        Err(e) => return Err(Error::io(path, e)),
    };
    let age = match fs::metadata(path).and_then(|m| m.modified()) {
        Ok(mtime) => SystemTime::now().duration_since(mtime).unwrap_or_default(),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Existing::Vanished),
        Err(e) => return Err(Error::io(path, e)),
    };
    Ok(match serde_json::from_slice::<LockHolder>(&bytes) {
        Ok(holder) if holder.is_stale() => Existing::Stale { holder: Some(holder), bytes, age },
        Ok(holder) => Existing::Held(Some(holder)),
        Err(_) if age > UNPARSEABLE_STALE_AFTER => Existing::Stale { holder: None, bytes, age },
        Err(_) => Existing::Held(None),
    })
}

/// Removes the stale lock file at `path` if it still holds exactly `stale`. Takers serialize on
/// an exclusive `flock` of the directory, so when several processes take over the same stale
/// lock, only the first removes it and the others see the winner's new lock file instead of
/// deleting it. Where the directory cannot be locked, the check is done unlocked.
fn remove_if_unchanged(dir: &Path, path: &Path, stale: &[u8]) -> Result<()> {
    let guard = File::open(dir).ok().filter(|d| d.lock().is_ok());
    let result = match fs::read(path) {
        Ok(now) if now == stale => match fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(path, e)),
        },
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    };
    if let Some(d) = guard {
        let _ = d.unlock();
    }
    result
}

/// Logs that a stale lock is being taken over.
fn warn_stale(path: &Path, holder: Option<&LockHolder>, age: Duration) {
    match holder {
        Some(h) => tracing::warn!(
            lock = %path.display(),
            purpose = %h.purpose,
            "Taking over a stale output directory lock: pid {} on host {} (started {}) is no \
             longer running.",
            h.pid,
            h.host,
            h.started
        ),
        None => tracing::warn!(
            lock = %path.display(),
            age_s = age.as_secs(),
            "Taking over an unreadable output directory lock file, last modified {} s ago.",
            age.as_secs()
        ),
    }
}

/// The error for a lock held by another process (`None`: the lock file cannot be parsed).
fn locked_error(path: &Path, holder: Option<&LockHolder>) -> Error {
    let who = match holder {
        Some(h) => format!(
            "pid {} on host {}, started {}, purpose {}",
            h.pid, h.host, h.started, h.purpose
        ),
        None => "unknown process: the lock file is unreadable or still being written".to_string(),
    };
    Error::input(
        path.display().to_string(),
        format!(
            "the output directory is locked by another sluice run ({who}); wait for it to \
             finish, or use another output directory. If that process is gone, remove {} by \
             hand.",
            path.display()
        ),
    )
}

/// This machine's host name: `/proc/sys/kernel/hostname`, then `/etc/hostname`, then the
/// `HOSTNAME` environment variable, then `unknown`.
fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| fs::read_to_string(p).ok())
        .chain(std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// Field 22 (`starttime`) of `/proc/<pid>/stat`, or `None` where it cannot be read.
#[cfg(target_os = "linux")]
fn proc_start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_starttime(&stat)
}

/// Not available off Linux.
#[cfg(not(target_os = "linux"))]
fn proc_start_time(_pid: u32) -> Option<u64> {
    None
}

/// Field 22 of a `/proc/<pid>/stat` line. Field 2 (the command name, in parentheses) may hold
/// spaces and parentheses, so fields are counted from the last `)`, which ends field 2.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_stat_starttime(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // `rest` starts at field 3 (state), so field 22 is the 20th field in it.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether process `pid` (started at `proc_start`, when known) still runs on this machine.
/// Where this cannot be told, it is assumed to run.
#[cfg(target_os = "linux")]
fn process_alive(pid: u32, proc_start: Option<u64>) -> bool {
    if !Path::new(&format!("/proc/{pid}")).exists() {
        return false;
    }
    match (proc_start, proc_start_time(pid)) {
        (Some(expected), Some(actual)) => expected == actual,
        _ => true,
    }
}

/// Off Linux the holder cannot be checked, so it is assumed to run.
#[cfg(not(target_os = "linux"))]
fn process_alive(_pid: u32, _proc_start: Option<u64>) -> bool {
    true
}

/// `unix` seconds as an RFC 3339 UTC timestamp, e.g. `2023-11-14T22:13:20Z`.
fn rfc3339_utc(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The proleptic Gregorian (year, month, day) of `days` after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for non-negative days).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z / 146_097;
    let doe = z % 146_097; // day of era, [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1, [0, 365]
    let mp = (5 * doy + 2) / 153; // month from March, [0, 11]
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = era * 400 + yoe + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pid above the usual `pid_max`, so no process has it.
    const DEAD_PID: u32 = 3_999_999;

    fn write_holder(dir: &Path, holder: &LockHolder) {
        fs::write(dir.join(LOCK_FILE_NAME), serde_json::to_string(holder).unwrap()).unwrap();
    }

    fn foreign_holder(pid: u32, host: &str) -> LockHolder {
        LockHolder {
            pid,
            host: host.to_string(),
            started_unix: 1_700_000_000,
            started: rfc3339_utc(1_700_000_000),
            purpose: "run".to_string(),
            token: "dead-beef-0".to_string(),
            proc_start: Some(12_345),
        }
    }

    fn message(err: Error) -> String {
        match err {
            Error::Input { message, .. } => message,
            other => panic!("expected an input error, got {other}"),
        }
    }

    #[test]
    fn second_acquire_fails_naming_the_holder() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        let lock = OutputLock::acquire(&dir, "run").unwrap();
        assert_eq!(lock.path(), dir.join(LOCK_FILE_NAME));
        let held = OutputLock::holder(&dir).unwrap();
        assert_eq!(&held, lock.info());
        assert_eq!(held.pid, std::process::id());
        assert_eq!(held.purpose, "run");

        let err = OutputLock::acquire(&dir, "finalize").unwrap_err();
        let location = match &err {
            Error::Input { location, .. } => location.clone(),
            other => panic!("expected an input error, got {other}"),
        };
        assert_eq!(location, dir.join(LOCK_FILE_NAME).display().to_string());
        let msg = message(err);
        assert!(msg.starts_with("the output directory is locked by another sluice run (pid "));
        assert!(msg.contains(&format!("pid {}", std::process::id())), "{msg}");
        assert!(msg.contains(&format!("on host {}", hostname())), "{msg}");
        assert!(msg.contains(&format!("started {}", held.started)), "{msg}");
        assert!(msg.contains("purpose run"), "{msg}");
        assert!(msg.ends_with(&format!("remove {location} by hand.")), "{msg}");
        // The failed attempt left the holder's lock alone.
        assert_eq!(OutputLock::holder(&dir).unwrap(), held);
    }

    #[test]
    fn drop_releases_the_lock() {
        let tmp = tempfile::tempdir().unwrap();
        let first = OutputLock::acquire(tmp.path(), "run").unwrap();
        let first_token = first.info().token.clone();
        drop(first);
        assert!(!tmp.path().join(LOCK_FILE_NAME).exists());
        assert!(OutputLock::holder(tmp.path()).is_none());
        let second = OutputLock::acquire(tmp.path(), "run").unwrap();
        assert_ne!(second.info().token, first_token);
    }

    #[test]
    fn stale_lock_of_a_dead_pid_is_taken_over() {
        let tmp = tempfile::tempdir().unwrap();
        write_holder(tmp.path(), &foreign_holder(DEAD_PID, &hostname()));
        let lock = OutputLock::acquire(tmp.path(), "run").unwrap();
        let held = OutputLock::holder(tmp.path()).unwrap();
        assert_eq!(held.pid, std::process::id());
        assert_eq!(held.token, lock.info().token);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reused_pid_is_detected_by_its_start_time() {
        let tmp = tempfile::tempdir().unwrap();
        let me = std::process::id();
        let real = proc_start_time(me).unwrap();
        // Our own, live pid, but a different process start time: the pid was reused.
        let mut old = foreign_holder(me, &hostname());
        old.proc_start = Some(real + 1);
        write_holder(tmp.path(), &old);
        let lock = OutputLock::acquire(tmp.path(), "run").unwrap();
        assert_eq!(OutputLock::holder(tmp.path()).unwrap().token, lock.info().token);
    }

    #[test]
    fn lock_on_another_host_is_never_taken_over() {
        let tmp = tempfile::tempdir().unwrap();
        let other = foreign_holder(DEAD_PID, "some-other-host.invalid");
        write_holder(tmp.path(), &other);
        let msg = message(OutputLock::acquire(tmp.path(), "run").unwrap_err());
        assert!(msg.contains(&format!("pid {DEAD_PID} on host some-other-host.invalid")), "{msg}");
        assert!(msg.contains("started 2023-11-14T22:13:20Z"), "{msg}");
        assert_eq!(OutputLock::holder(tmp.path()).unwrap(), other);
    }

    #[test]
    fn drop_keeps_a_lock_that_is_not_ours() {
        let tmp = tempfile::tempdir().unwrap();
        let lock = OutputLock::acquire(tmp.path(), "run").unwrap();
        let mut replaced = lock.info().clone();
        replaced.token = format!("{}-other", replaced.token);
        write_holder(tmp.path(), &replaced);
        drop(lock);
        assert_eq!(OutputLock::holder(tmp.path()).unwrap(), replaced);
    }

    #[test]
    fn fresh_unparseable_lock_is_held_by_an_unknown_process() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(LOCK_FILE_NAME);
        fs::write(&path, b"{\"pid\": 12").unwrap();
        let msg = message(OutputLock::acquire(tmp.path(), "run").unwrap_err());
        assert!(msg.contains("unknown process"), "{msg}");
        assert_eq!(fs::read(&path).unwrap(), b"{\"pid\": 12");
    }

    #[test]
    fn old_unparseable_lock_is_taken_over() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(LOCK_FILE_NAME);
        fs::write(&path, b"").unwrap();
        let old = SystemTime::now() - Duration::from_secs(120);
        File::options().write(true).open(&path).unwrap().set_modified(old).unwrap();
        let lock = OutputLock::acquire(tmp.path(), "run").unwrap();
        assert_eq!(OutputLock::holder(tmp.path()).unwrap().token, lock.info().token);
    }

    #[test]
    fn concurrent_takeovers_of_a_stale_lock_have_one_winner() {
        let tmp = tempfile::tempdir().unwrap();
        write_holder(tmp.path(), &foreign_holder(DEAD_PID, &hostname()));
        let barrier = std::sync::Barrier::new(8);
        let results: Vec<Result<OutputLock>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        OutputLock::acquire(tmp.path(), "run")
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<&OutputLock> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1);
        assert_eq!(OutputLock::holder(tmp.path()).unwrap().token, winners[0].info().token);
    }

    #[test]
    fn stat_starttime_is_field_22() {
        let stat = "42 (a (weird) name) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 \
                    987654 1000 100 18446744073709551615";
        assert_eq!(parse_stat_starttime(stat), Some(987_654));
        assert_eq!(parse_stat_starttime("garbage"), None);
    }

    #[test]
    fn rfc3339_of_known_times() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(rfc3339_utc(1_798_761_600), "2027-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(4_102_444_800), "2100-01-01T00:00:00Z");
    }
}

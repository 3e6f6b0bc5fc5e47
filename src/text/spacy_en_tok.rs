//! [`Tok`]: one token of the English tokenizer, a byte span of the text plus a whitespace flag.
//! Both the tokenizer (`spacy_en`) and the special-case matcher (`spacy_en_special`) build and
//! rewrite token lists; the type lives here, below both, so neither depends on the other for it.

/// One token: byte span in the text, and whether it is a whitespace token. 16 bytes: the
/// whitespace flag is the top bit of the end offset (free: no allocation exceeds `isize::MAX`
/// bytes), so a book's token list moves a third fewer bytes than with a separate flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Tok {
    /// Start offset (inclusive).
    pub(super) start: usize,
    /// End offset, with [`TOK_SPACE`] set on a whitespace token.
    tagged_end: usize,
}

/// Marks a whitespace token in [`Tok`]'s end offset.
const TOK_SPACE: usize = 1 << (usize::BITS - 1);

impl Tok {
    /// The token `start..end`, a whitespace token when `space`.
    #[inline]
    pub(super) fn new(start: usize, end: usize, space: bool) -> Self {
        Tok { start, tagged_end: end | if space { TOK_SPACE } else { 0 } }
    }

    /// End offset (exclusive).
    #[inline]
    pub(super) fn end(&self) -> usize {
        self.tagged_end & !TOK_SPACE
    }

    /// Whether this is a whitespace token.
    #[inline]
    pub(super) fn space(&self) -> bool {
        self.tagged_end & TOK_SPACE != 0
    }
}

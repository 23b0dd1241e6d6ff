//! Seeded edits of a document (a range cut, doubled, or a token put in), for
//! the tests that feed `init` mangled input: the same seed gives the same inputs.

/// A xorshift generator of edits.
pub struct Mutator(pub u64);

impl Mutator {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// `text` with one to three edits: a range cut, doubled, or one of `tokens` put in.
    pub fn mutate(&mut self, text: &str, tokens: &[&[u8]]) -> String {
        let mut bytes = text.as_bytes().to_vec();
        for _ in 0..=self.below(3) {
            let at = self.below(bytes.len());
            let end = (at + 1 + self.below(40)).min(bytes.len());
            match self.below(3) {
                0 => {
                    bytes.drain(at..end);
                }
                1 => {
                    let copy = bytes[at..end].to_vec();
                    bytes.splice(at..at, copy);
                }
                _ => {
                    let token = tokens[self.below(tokens.len())];
                    bytes.splice(at..at, token.iter().copied());
                }
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

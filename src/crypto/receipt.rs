//! Receipts: the secret that lets a young person back in to their request. Only an HMAC of
//! a receipt is ever stored, so the receipt itself must never be logged or persisted.

use super::fill_random;

/// Crockford base32: no I, L, O or U, so handwritten or misread codes still parse.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LEN: usize = 20;

/// A normalised receipt: exactly 20 Crockford base32 symbols (100 bits).
#[derive(Clone)]
pub struct Receipt(String);

impl Receipt {
    /// 20 symbols, each uniform over the alphabet (a random byte masked to 5 bits is unbiased).
    pub fn generate() -> Self {
        Self(random_symbols::<LEN>())
    }

    /// Accepts the receipt however it is typed: any case, spaces and dashes anywhere, and
    /// O→0, I/L→1. Anything else, or not exactly 20 symbols after cleaning, is rejected.
    pub fn parse(raw: &str) -> Option<Self> {
        let mut out = String::with_capacity(LEN);
        for c in raw.chars() {
            if c == '-' || c.is_whitespace() {
                continue;
            }
            let c = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
                _ => return None,
            };
            if out.len() == LEN {
                return None;
            }
            out.push(c);
        }
        (out.len() == LEN).then_some(Self(out))
    }

    pub fn as_normalised(&self) -> &str {
        &self.0
    }

    /// Grouped in fours for reading aloud or copying: "XXXX-XXXX-XXXX-XXXX-XXXX".
    pub fn display(&self) -> String {
        let mut out = String::with_capacity(LEN + LEN / 4 - 1);
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            out.push(c);
        }
        out
    }
}

// Deliberately no Display impl and a redacted Debug, so a receipt cannot leak through
// `{:?}` in logs or error messages.
impl std::fmt::Debug for Receipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Receipt(redacted)")
    }
}

/// A public, non-secret handle for a request: "SP-" + 4 + "-" + 4 Crockford symbols (40 bits).
pub fn new_reference() -> String {
    let s = random_symbols::<8>();
    format!("SP-{}-{}", &s[..4], &s[4..])
}

fn random_symbols<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    fill_random(&mut bytes);
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_symbol(c: char) -> bool {
        c.is_ascii() && ALPHABET.contains(&(c as u8))
    }

    #[test]
    fn parse_accepts_casual_typing() {
        let r = Receipt::parse("abcd efgh-jkmn pqrs tvwx").unwrap();
        assert_eq!(r.as_normalised(), "ABCDEFGHJKMNPQRSTVWX");
        let r = Receipt::parse("  ab-cd-ef gh jk mn pq rs tv wx\n").unwrap();
        assert_eq!(r.as_normalised(), "ABCDEFGHJKMNPQRSTVWX");
    }

    #[test]
    fn parse_maps_lookalikes() {
        let r = Receipt::parse("oOiI-lL01-2345-6789-ABCD").unwrap();
        assert_eq!(r.as_normalised(), "0011110123456789ABCD");
    }

    #[test]
    fn parse_rejects_bad_input() {
        // U is excluded from Crockford base32.
        assert!(Receipt::parse("UBCD-EFGH-JKMN-PQRS-TVWX").is_none());
        // Wrong lengths.
        assert!(Receipt::parse("ABCD-EFGH-JKMN-PQRS-TVW").is_none());
        assert!(Receipt::parse("ABCD-EFGH-JKMN-PQRS-TVWXY").is_none());
        assert!(Receipt::parse("").is_none());
        assert!(Receipt::parse("- - -").is_none());
        // Punctuation and non-ASCII.
        assert!(Receipt::parse("ABCD.EFGH-JKMN-PQRS-TVWX").is_none());
        assert!(Receipt::parse("ABCD_EFGH-JKMN-PQRS-TVWX").is_none());
        assert!(Receipt::parse("ABCD/EFGH-JKMN-PQRS-TVWX").is_none());
        assert!(Receipt::parse("ÀBCD-EFGH-JKMN-PQRS-TVWX").is_none());
    }

    #[test]
    fn generate_display_parse_round_trip() {
        for _ in 0..100 {
            let r = Receipt::generate();
            assert_eq!(r.as_normalised().len(), 20);
            assert!(r.as_normalised().chars().all(is_symbol));
            let shown = r.display();
            let back = Receipt::parse(&shown).unwrap();
            assert_eq!(back.as_normalised(), r.as_normalised());
            let back = Receipt::parse(&shown.to_lowercase()).unwrap();
            assert_eq!(back.as_normalised(), r.as_normalised());
        }
        assert_ne!(
            Receipt::generate().as_normalised(),
            Receipt::generate().as_normalised()
        );
    }

    #[test]
    fn display_format() {
        let shown = Receipt::generate().display();
        assert_eq!(shown.len(), 24);
        for (i, c) in shown.chars().enumerate() {
            if i % 5 == 4 {
                assert_eq!(c, '-', "{shown}");
            } else {
                assert!(is_symbol(c), "{shown}");
            }
        }
    }

    #[test]
    fn debug_is_redacted() {
        let r = Receipt::generate();
        let dbg = format!("{r:?}");
        assert_eq!(dbg, "Receipt(redacted)");
        assert!(!dbg.contains(r.as_normalised()));
    }

    #[test]
    fn reference_format() {
        let r = new_reference();
        assert_eq!(r.len(), 12, "{r}");
        assert!(r.starts_with("SP-"));
        assert_eq!(&r[7..8], "-");
        assert!(r[3..7].chars().chain(r[8..].chars()).all(is_symbol), "{r}");
        assert_ne!(new_reference(), new_reference());
    }
}

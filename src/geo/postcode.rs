//! UK postcode and outward-code newtypes: parsed once, normalised (`e83pl`, ` E8  3PL `
//! and `E8 3PL` are the same postcode).

/// A well-formed full postcode, normalised to `AA9A 9AA` form (one space).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Postcode(String);

/// A well-formed outward code (`E8`, `SE15`, `W1A`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Outcode(String);

/// What a young person typed where a place is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceInput {
    Postcode(Postcode),
    Outcode(Outcode),
}

fn compact(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Outward code shapes: A9, A99, AA9, AA99, A9A, AA9A.
fn is_outcode(s: &str) -> bool {
    let b = s.as_bytes();
    let alpha = |i: usize| b.get(i).is_some_and(u8::is_ascii_alphabetic);
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    match b.len() {
        2 => alpha(0) && digit(1),
        3 => alpha(0) && ((digit(1) && (digit(2) || alpha(2))) || (alpha(1) && digit(2))),
        4 => alpha(0) && alpha(1) && digit(2) && (digit(3) || alpha(3)),
        _ => false,
    }
}

fn is_inward(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 3
        && b[0].is_ascii_digit()
        && b[1].is_ascii_alphabetic()
        && b[2].is_ascii_alphabetic()
}

impl Postcode {
    pub fn parse(raw: &str) -> Option<Self> {
        let c = compact(raw);
        if !(5..=7).contains(&c.len()) || !c.is_ascii() {
            return None;
        }
        let (out, inward) = c.split_at(c.len() - 3);
        (is_outcode(out) && is_inward(inward)).then(|| Self(format!("{out} {inward}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn outcode(&self) -> Outcode {
        Outcode(self.0.split(' ').next().unwrap_or_default().to_string())
    }

    /// Packs the postcode into a sortable integer key (at most 7 ASCII characters).
    pub fn key(&self) -> u64 {
        pack(&self.0)
    }
}

/// Packs up to 8 non-space ASCII bytes, left-aligned, so keys sort like the strings.
pub(crate) fn pack(s: &str) -> u64 {
    let mut key = 0u64;
    let mut n = 0;
    for b in s.bytes().filter(|b| *b != b' ').take(8) {
        key = (key << 8) | u64::from(b);
        n += 1;
    }
    key << (8 * (8 - n))
}

impl Outcode {
    pub fn parse(raw: &str) -> Option<Self> {
        let c = compact(raw);
        (c.is_ascii() && is_outcode(&c)).then_some(Self(c))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PlaceInput {
    pub fn parse(raw: &str) -> Option<Self> {
        Postcode::parse(raw)
            .map(Self::Postcode)
            .or_else(|| Outcode::parse(raw).map(Self::Outcode))
    }
}

impl std::fmt::Display for Postcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for Outcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_spacing_and_case() {
        for raw in ["E8 3PL", "e83pl", " E8  3PL ", "e8 3pl"] {
            assert_eq!(Postcode::parse(raw).unwrap().as_str(), "E8 3PL", "{raw}");
        }
        assert_eq!(Postcode::parse("sw1a1aa").unwrap().as_str(), "SW1A 1AA");
        assert_eq!(
            Postcode::parse("EC1V 9LT").unwrap().outcode().as_str(),
            "EC1V"
        );
    }

    #[test]
    fn rejects_malformed() {
        for raw in [
            "", "E", "hackney", "E8 3P", "E8 3PLX", "88 3PL", "E8 PL3", "Ë8 3PL", "E8-3PL!",
        ] {
            assert!(Postcode::parse(raw).is_none(), "{raw}");
        }
    }

    #[test]
    fn outcodes() {
        for raw in ["E8", "se15", "W1A", "n1", "EC1V", "CR0"] {
            assert!(Outcode::parse(raw).is_some(), "{raw}");
        }
        for raw in ["8E", "E", "ABCDE", "hackney", "E8 3PL"] {
            assert!(Outcode::parse(raw).is_none(), "{raw}");
        }
        assert!(matches!(
            PlaceInput::parse("e8"),
            Some(PlaceInput::Outcode(_))
        ));
        assert!(matches!(
            PlaceInput::parse("e8 3pl"),
            Some(PlaceInput::Postcode(_))
        ));
    }

    #[test]
    fn keys_sort_like_strings() {
        let a = Postcode::parse("E8 3PL").unwrap().key();
        let b = Postcode::parse("E8 3PN").unwrap().key();
        let c = Postcode::parse("E9 1AA").unwrap().key();
        assert!(a < b && b < c);
    }
}

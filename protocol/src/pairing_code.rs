//! The pairing code: a 64-bit secret P, written for people to read and type.
//!
//! P is shown as 13 Crockford base32 symbols plus one check symbol, in groups
//! of four (`7K4P-9QZM-T3XB-WQ`). The check symbol is a Damm check over
//! GF(2⁵), not Crockford's mod-37 symbol: Crockford's extra check symbols
//! (`* ~ $ =`) are special to every shell, and the code is typed into one.
//! Damm catches every single wrong symbol and every swap of two neighbours.

use std::fmt;
use zeroize::Zeroize;

/// Crockford's base32 alphabet: no I, L, O or U.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Symbols carrying P (13 × 5 bits hold 64 bits; the first symbol holds 4).
const DATA_SYMBOLS: usize = 13;

/// Symbols in a written code: the data and the check symbol.
pub const CODE_SYMBOLS: usize = DATA_SYMBOLS + 1;

/// Prefix of the QR payload, so a scanner knows what it read.
pub const QR_PREFIX: &str = "NODEPAIR:";

/// A pairing code. It is a secret until pairing ends: `Debug` never shows it
/// and it is wiped from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct PairingCode(u64);

/// Why a typed code is not a pairing code; nothing touched the network.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodeError {
    /// Nothing but spaces and dashes was given.
    #[error("no code was given")]
    Empty,
    /// A character that is in no code (after case folding and O→0, I/L→1).
    #[error(
        "{found:?} (symbol {position}) cannot be part of a code; codes use 0-9 and A-Z without I, L, O and U"
    )]
    ForeignCharacter {
        /// The offending character, as typed.
        found: char,
        /// Its position among the code's symbols, from 1.
        position: usize,
    },
    /// Not 14 symbols.
    #[error(
        "a code has {CODE_SYMBOLS} symbols, this has {found}; check for a missing or extra symbol"
    )]
    WrongLength {
        /// Symbols found, separators not counted.
        found: usize,
    },
    /// The check symbol does not match: a symbol was mistyped or two swapped.
    #[error(
        "typo in the code: its check symbol does not match; compare it with the code on screen"
    )]
    Typo,
    /// The first symbol is above F, which no 64-bit number produces.
    #[error("not a pairing code: it must start with 0-9 or A-F")]
    OutOfRange,
    /// All digits, but larger than any 64-bit number.
    #[error("the decimal code {digits} digits long is larger than any pairing code")]
    DecimalTooLarge {
        /// How many digits were given.
        digits: usize,
    },
}

/// x·2 in GF(2⁵) with the modulus x⁵ + x² + 1.
const fn gf32_double(x: u8) -> u8 {
    let shifted = x << 1;
    if shifted & 0x20 != 0 {
        (shifted ^ 0x25) & 0x1f
    } else {
        shifted
    }
}

/// One step of the Damm check: a ∘ b = 2a ⊕ b, a totally anti-symmetric
/// quasigroup of order 32.
const fn damm_step(interim: u8, symbol: u8) -> u8 {
    gf32_double(interim) ^ symbol
}

fn damm(symbols: &[u8]) -> u8 {
    symbols.iter().fold(0, |acc, &s| damm_step(acc, s))
}

impl PairingCode {
    /// The code for P = `random` read big-endian: pass 8 bytes from a CSPRNG.
    pub fn from_random(random: [u8; 8]) -> Self {
        PairingCode(u64::from_be_bytes(random))
    }

    /// The code for a known P (tests and test vectors).
    pub fn from_u64(p: u64) -> Self {
        PairingCode(p)
    }

    /// P itself, big-endian: the input keying material of the derivation.
    pub fn to_be_bytes(&self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    /// P as a number.
    pub fn value(&self) -> u64 {
        self.0
    }

    fn symbols(&self) -> [u8; CODE_SYMBOLS] {
        let mut out = [0u8; CODE_SYMBOLS];
        for (i, s) in out.iter_mut().take(DATA_SYMBOLS).enumerate() {
            let shift = 5 * (DATA_SYMBOLS - 1 - i);
            *s = ((self.0 >> shift) & 0x1f) as u8;
        }
        out[DATA_SYMBOLS] = gf32_double(damm(&out[..DATA_SYMBOLS]));
        out
    }

    /// The code as people read it: `7K4P-9QZM-T3XB-WQ`.
    pub fn to_display_string(&self) -> String {
        let mut s = String::with_capacity(CODE_SYMBOLS + 3);
        for (i, sym) in self.symbols().iter().enumerate() {
            if i > 0 && i % 4 == 0 {
                s.push('-');
            }
            s.push(ALPHABET[usize::from(*sym)] as char);
        }
        s
    }

    /// The text a QR code carries: `NODEPAIR:7K4P-9QZM-T3XB-WQ` (QR
    /// alphanumeric mode holds every character of it). [`parse`](Self::parse)
    /// reads it back.
    pub fn qr_payload(&self) -> String {
        format!("{QR_PREFIX}{}", self.to_display_string())
    }

    /// P in decimal, zero-padded to 20 digits so it can never be mistaken for
    /// a 14-symbol code.
    pub fn to_decimal_string(&self) -> String {
        format!("{:020}", self.0)
    }

    /// Reads a code as a person may type it: any case, any spaces or dashes,
    /// O for 0 and I or L for 1, with or without the QR prefix; or P in plain
    /// decimal (any length but 14 digits, which reads as a code).
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let trimmed = input.trim();
        let body = match trimmed.get(..QR_PREFIX.len()) {
            Some(prefix) if prefix.eq_ignore_ascii_case(QR_PREFIX) => &trimmed[QR_PREFIX.len()..],
            _ => trimmed,
        };
        let typed: Vec<char> = body
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        if typed.is_empty() {
            return Err(CodeError::Empty);
        }
        if typed.len() != CODE_SYMBOLS && typed.iter().all(char::is_ascii_digit) {
            let digits: String = typed.iter().collect();
            return digits.parse::<u64>().map(PairingCode).map_err(|_| {
                CodeError::DecimalTooLarge {
                    digits: typed.len(),
                }
            });
        }
        let mut symbols = Vec::with_capacity(CODE_SYMBOLS);
        for (i, &c) in typed.iter().enumerate() {
            let folded = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                other => other,
            };
            let value = ALPHABET
                .iter()
                .position(|&a| char::from(a) == folded)
                .ok_or(CodeError::ForeignCharacter {
                    found: c,
                    position: i + 1,
                })?;
            symbols.push(value as u8);
        }
        if symbols.len() != CODE_SYMBOLS {
            return Err(CodeError::WrongLength {
                found: symbols.len(),
            });
        }
        if damm(&symbols) != 0 {
            return Err(CodeError::Typo);
        }
        if symbols[0] > 0x0f {
            return Err(CodeError::OutOfRange);
        }
        let p = symbols[..DATA_SYMBOLS]
            .iter()
            .fold(0u64, |acc, &s| (acc << 5) | u64::from(s));
        symbols.zeroize();
        Ok(PairingCode(p))
    }
}

impl fmt::Debug for PairingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PairingCode(redacted)")
    }
}

impl Drop for PairingCode {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_codes() {
        assert_eq!(
            PairingCode::from_u64(0).to_display_string(),
            "0000-0000-0000-00"
        );
        let max = PairingCode::from_u64(u64::MAX);
        assert!(max.to_display_string().starts_with("FZZZ-ZZZZ-ZZZZ-Z"));
        assert_eq!(max.to_decimal_string(), "18446744073709551615");
        assert_eq!(
            PairingCode::from_u64(42).to_decimal_string(),
            "00000000000000000042"
        );
    }

    #[test]
    fn typing_variants_all_read_the_same() {
        let code = PairingCode::from_u64(0x0123_4567_89ab_cdef);
        let shown = code.to_display_string();
        let variants = [
            shown.clone(),
            shown.to_lowercase(),
            shown.replace('-', " "),
            shown.replace('-', ""),
            format!("  {}  ", shown.replace('-', " - ")),
            code.qr_payload(),
            code.qr_payload().to_lowercase(),
            code.to_decimal_string(),
            code.value().to_string(),
        ];
        for v in variants {
            assert_eq!(PairingCode::parse(&v), Ok(code.clone()), "{v:?}");
        }
    }

    #[test]
    fn misreads_are_folded() {
        // A code with 0 and 1 in it, typed with O, I and L.
        let code = (0..u64::MAX)
            .step_by(0x0101_0101_0101)
            .map(PairingCode::from_u64)
            .find(|c| {
                let s = c.to_display_string();
                s.contains('0') && s.contains('1')
            })
            .unwrap();
        let shown = code.to_display_string();
        let typed = shown
            .replacen('0', "O", 1)
            .replacen('1', "l", 1)
            .replace('1', "I");
        assert_eq!(PairingCode::parse(&typed), Ok(code));
    }

    #[test]
    fn every_single_substitution_is_caught() {
        let shown: Vec<u8> = PairingCode::from_u64(0xdead_beef_0bad_f00d)
            .to_display_string()
            .replace('-', "")
            .into_bytes();
        for i in 0..CODE_SYMBOLS {
            for &a in ALPHABET {
                if a == shown[i] {
                    continue;
                }
                let mut typo = shown.clone();
                typo[i] = a;
                let typo = String::from_utf8(typo).unwrap();
                let got = PairingCode::parse(&typo);
                assert!(matches!(got, Err(CodeError::Typo)), "{typo} gave {got:?}");
            }
        }
    }

    #[test]
    fn every_adjacent_swap_is_caught() {
        for p in [1u64, 0x0123_4567_89ab_cdef, u64::MAX / 3] {
            let shown: Vec<u8> = PairingCode::from_u64(p)
                .to_display_string()
                .replace('-', "")
                .into_bytes();
            for i in 0..CODE_SYMBOLS - 1 {
                if shown[i] == shown[i + 1] {
                    continue;
                }
                let mut swapped = shown.clone();
                swapped.swap(i, i + 1);
                let swapped = String::from_utf8(swapped).unwrap();
                assert_eq!(
                    PairingCode::parse(&swapped),
                    Err(CodeError::Typo),
                    "{swapped}"
                );
            }
        }
    }

    #[test]
    fn bad_inputs_get_their_own_errors() {
        assert_eq!(PairingCode::parse(""), Err(CodeError::Empty));
        assert_eq!(PairingCode::parse(" - -  "), Err(CodeError::Empty));
        assert_eq!(PairingCode::parse("nodepair:"), Err(CodeError::Empty));
        assert_eq!(
            PairingCode::parse("7K4P-9QZM-T3XB-WU"),
            Err(CodeError::ForeignCharacter {
                found: 'U',
                position: 14
            })
        );
        assert_eq!(
            PairingCode::parse("7K4P-9Q?M-T3XB-WQ"),
            Err(CodeError::ForeignCharacter {
                found: '?',
                position: 7
            })
        );
        assert_eq!(
            PairingCode::parse("7K4P-9QZM-T3XB"),
            Err(CodeError::WrongLength { found: 12 })
        );
        assert_eq!(
            PairingCode::parse("7K4P-9QZM-T3XB-WQA"),
            Err(CodeError::WrongLength { found: 15 })
        );
        assert_eq!(
            PairingCode::parse("184467440737095516150"),
            Err(CodeError::DecimalTooLarge { digits: 21 })
        );
        // A first symbol above F with a correct check symbol.
        let mut symbols = [0x10u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        symbols[13] = gf32_double(damm(&symbols[..13]));
        let text: String = symbols
            .iter()
            .map(|&s| ALPHABET[usize::from(s)] as char)
            .collect();
        assert_eq!(PairingCode::parse(&text), Err(CodeError::OutOfRange));
    }

    #[test]
    fn errors_read_as_sentences() {
        assert_eq!(
            CodeError::Typo.to_string(),
            "typo in the code: its check symbol does not match; compare it with the code on screen"
        );
        assert_eq!(
            CodeError::WrongLength { found: 12 }.to_string(),
            "a code has 14 symbols, this has 12; check for a missing or extra symbol"
        );
    }

    #[test]
    fn debug_never_shows_the_code() {
        let code = PairingCode::from_u64(0x0123_4567_89ab_cdef);
        let shown = format!("{code:?}");
        assert_eq!(shown, "PairingCode(redacted)");
    }

    proptest! {
        #[test]
        fn display_parse_round_trips(p: u64) {
            let code = PairingCode::from_u64(p);
            prop_assert_eq!(PairingCode::parse(&code.to_display_string()), Ok(code.clone()));
            prop_assert_eq!(PairingCode::parse(&code.qr_payload()), Ok(code.clone()));
            prop_assert_eq!(PairingCode::parse(&code.to_decimal_string()), Ok(code));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = PairingCode::parse(&s);
        }
    }
}

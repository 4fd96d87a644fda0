//! The code parser takes whatever a person types: it must never panic, and
//! whatever it accepts must print back to a code that parses the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nodepair_protocol::PairingCode;

fuzz_target!(|input: &str| {
    if let Ok(code) = PairingCode::parse(input) {
        let again = PairingCode::parse(&code.to_display_string()).expect("printed codes parse");
        assert_eq!(again, code);
    }
});

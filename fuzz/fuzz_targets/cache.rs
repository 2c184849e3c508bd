//! Fuzz target: the cache reader. Arbitrary bytes as a bucket file, read as it is (an unauthenticated
//! file must always be rejected) and signed with the secret first (reaching the JSON parser and the
//! rule and notification id lookups behind the MAC). Rejection is fine; a panic is a bug; a bucket
//! that is accepted must read back identically once re-written.

#![no_main]

use libfuzzer_sys::fuzz_target;
use trunkguard::cache;

const SECRET: cache::Secret = [7; 32];

fuzz_target!(|data: &[u8]| {
    assert_eq!(cache::decode_for_fuzzing(data, &SECRET, "00.json", false), None, "unsigned bytes accepted");
    let _ = cache::decode_for_fuzzing(data, &SECRET, "00.json", true);
});

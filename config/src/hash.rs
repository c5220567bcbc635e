//! FNV-1a, the one hash of the workspace: stable ids and fingerprints that must not change between
//! runs, versions or machines (document ids, body fingerprints, forest seeds). Not for security.

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;
/// The second lane's start: FNV's offset basis for 128 bits, upper half.
const SECOND_OFFSET: u64 = 0x6c62_272e_07bb_0142;

/// 64-bit FNV-1a of `bytes`.
///
/// ```
/// assert_eq!(wafwatch_config::hash::fnv1a(b""), 0xcbf2_9ce4_8422_2325);
/// assert_eq!(wafwatch_config::hash::fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
/// ```
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(OFFSET, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

/// 64-bit FNV-1a as 16 hex digits.
pub fn fnv1a_hex(bytes: &[u8]) -> String {
    format!("{:016x}", fnv1a(bytes))
}

/// A 128-bit id as 32 hex digits: FNV-1a beside a second, rotated FNV lane, so that ids of
/// millions of records do not collide.
pub fn wide_id(bytes: &[u8]) -> String {
    let mut a = OFFSET;
    let mut b = SECOND_OFFSET;
    for &x in bytes {
        a = (a ^ u64::from(x)).wrapping_mul(PRIME);
        b = (b ^ u64::from(x)).wrapping_mul(PRIME).rotate_left(5);
    }
    format!("{a:016x}{b:016x}")
}

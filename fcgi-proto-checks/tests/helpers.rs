//! The checks' own helpers, against the definitions they stand in for.

use fcgi_proto_checks::has_control;

/// `has_control` agrees with `char::is_control` (newline allowed) on every
/// character, alone and between other text.
#[test]
fn has_control_is_char_is_control_but_newline() {
    let mut s = String::new();
    for c in (0..=0x10ffff).filter_map(char::from_u32) {
        let want = c != '\n' && c.is_control();
        s.clear();
        s.push(c);
        assert_eq!(has_control(&s), want, "{c:?} alone");
        s.clear();
        s.push('§');
        s.push(c);
        s.push('x');
        assert_eq!(has_control(&s), want, "{c:?} after §");
    }
    assert!(!has_control(""));
    assert!(!has_control("a\nb §3.3\n"));
}

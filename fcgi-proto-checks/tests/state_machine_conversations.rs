//! State-machine property over arbitrary conversations (§3.3, §5), moved
//! here from fcgi-proto's tests/state_machines.rs because it draws records
//! from fcgi-proto's `arbitrary` impls, which fcgi-proto's own tests cannot
//! enable without a self dev-dependency (that breaks `cargo package`).
#![allow(clippy::unwrap_used)]

use fcgi_proto::connection::{Application, WebServer};
use fcgi_proto::encoder::Encoder;
use fcgi_proto::record::records;
use fcgi_proto::RecordType;
use proptest::prelude::*;

/// Arbitrary records (types 0..=11, ids 0..=2, so that conversations
/// happen) from the `arbitrary` impls.
fn small_conversations() -> impl Strategy<Value = Vec<fcgi_proto::OwnedRecord>> {
    use arbitrary::{Arbitrary, Unstructured};
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..48), 0..40).prop_map(|raws| {
        raws.iter()
            .filter_map(|raw| {
                let mut r = fcgi_proto::OwnedRecord::arbitrary(&mut Unstructured::new(raw)).ok()?;
                r.record_type = RecordType::from_u8(r.record_type.code() % 12);
                r.request_id %= 3;
                Some(r)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever arrives, each party's error points into the record it was
    /// handling (its header, content, or just past an empty body), so that
    /// a transcript can show where the conversation went wrong.
    #[test]
    fn errors_point_into_the_record_handled(rs in small_conversations()) {
        let mut wire = Vec::new();
        for r in &rs {
            Encoder::default()
                .record(r.record_type, r.request_id, &r.content, &mut wire)
                .unwrap();
        }
        let mut a = Application::default();
        let mut s = WebServer::default();
        for rec in records(&wire) {
            let rec = rec.unwrap();
            let (lo, hi) = (rec.offset, rec.offset + rec.header.record_len() as u64);
            if let Err(e) = a.handle(&rec) {
                prop_assert!((lo..=hi).contains(&e.offset()), "application: {} not in {}..={}", e, lo, hi);
            }
            if let Err(e) = s.handle(&rec) {
                prop_assert!((lo..=hi).contains(&e.offset()), "web server: {} not in {}..={}", e, lo, hi);
            }
        }
    }
}

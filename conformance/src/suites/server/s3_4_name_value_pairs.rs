//! §3.4 Name-value pairs: the two length forms: the server suite's cases.

use crate::case::Outcome;
use crate::server::http::HttpRequest;
use fcgi_proto::name_value::LengthForm;

use super::helpers::*;

super::cases! {
    section "3.4";
    "long-value" [R_3_4_2, R_3_4_3] Plain
        "A header value longer than 127 bytes uses the 4-byte length"
        "A GET with a 300-byte header value: HTTP_X_LONG arrives whole, its length in the 4-byte form."
        => long_value;
}

async fn long_value(ctx: &mut Ctx) -> Outcome {
    let long: String = (0..300)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let mut req = HttpRequest::get(path("long-value"));
    req.headers.push(("X-Long".into(), long.clone()));
    let (seen, resp) = ctx
        .exchange(req, |app, s| app.respond(s, &ok_response(b"long\n")))
        .await;
    let s = match usable(&seen, "GET /long-value", &resp) {
        Ok(s) => s,
        Err(o) => return o,
    };
    let Some((_, v, form)) = s.params.iter().find(|(n, _, _)| n == b"HTTP_X_LONG") else {
        return Outcome::fail(
            "param HTTP_X_LONG with the 300-byte value",
            "no HTTP_X_LONG param",
        );
    };
    if v != long.as_bytes() {
        return Outcome::fail("the 300-byte value intact", format!("{} bytes", v.len()));
    }
    if *form != LengthForm::Long {
        return Outcome::fail("the 4-byte length form (R-3.4-2)", format!("{form:?}"));
    }
    if let Some(o) = expect_body(&resp, 200, b"long\n") {
        return o;
    }
    Outcome::pass("HTTP_X_LONG: 300 bytes, 4-byte length")
}

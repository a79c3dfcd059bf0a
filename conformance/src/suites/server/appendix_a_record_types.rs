//! §A Appendix A: the properties of the record types: the server suite's cases.

use crate::case::Outcome;
use crate::server::http::HttpRequest;
use fcgi_proto::record::RecordType;

use super::helpers::*;

super::cases! {
    section "A";
    "direction" [R_A_1] Plain
        "The server sends only the web server's record types"
        "A POST with a body: every record of the request is BEGIN_REQUEST, ABORT_REQUEST, PARAMS, STDIN or DATA, never a type only the application sends (R-A-1); the codec's judge reports a wrong direction as a violation."
        => direction;
}

/// The types appendix A gives the web server to send for a request.
fn web_servers(t: RecordType) -> bool {
    matches!(
        t,
        RecordType::BeginRequest
            | RecordType::AbortRequest
            | RecordType::Params
            | RecordType::Stdin
            | RecordType::Data
    )
}

async fn direction(ctx: &mut Ctx) -> Outcome {
    let (seen, resp) = ctx
        .exchange(
            HttpRequest::post(path("direction"), vec![b'd'; 3000]),
            |app, s| app.respond(s, &ok_response(b"direction\n")),
        )
        .await;
    let s = match usable(&seen, "POST /direction", &resp) {
        Ok(s) => s,
        Err(o) => return o,
    };
    if let Some((t, ..)) = s.records.iter().find(|(t, ..)| !web_servers(*t)) {
        return Outcome::fail(
            "only BEGIN_REQUEST, ABORT_REQUEST, PARAMS, STDIN and DATA for a request (R-A-1)",
            format!("{} for id {}", t.name(), s.id),
        );
    }
    if let Some(o) = expect_body(&resp, 200, b"direction\n") {
        return o;
    }
    let mut types: Vec<&str> = s.records.iter().map(|(t, ..)| t.name()).collect();
    types.dedup();
    Outcome::pass(format!(
        "{} records, of the web server's types only ({})",
        s.records.len(),
        types.join(", ")
    ))
}

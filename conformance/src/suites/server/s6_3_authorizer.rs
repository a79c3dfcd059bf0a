//! §6.3 Authorizer: the server suite's cases.

use crate::case::Outcome;
use crate::server::http::HttpRequest;
use fcgi_proto::application::ProtocolStatus;

use super::helpers::*;

super::cases! {
    section "6.3";
    "authorizer-variables" [R_6_3_1, R_6_3_6] Alone
        "Authorizer 200 with Variable- headers"
        "The Authorizer answers 200 with Variable-AUTH_USER_ID: the request goes on and the variable reaches the Responder as a param."
        => authorizer_variables;
    "authorizer-deny" [R_6_3_4] Alone
        "Authorizer denies with 403"
        "The Authorizer answers 403 with a body: the client gets 403 and that body."
        => authorizer_deny;
    "authorizer-params" [R_6_3_2, R_6_3_3] Alone
        "What an Authorizer receives"
        "The Authorizer request has no STDIN content, and no CONTENT_LENGTH, PATH_INFO, PATH_TRANSLATED or SCRIPT_NAME params."
        => authorizer_params;
}

async fn authorizer_params(ctx: &mut Ctx) -> Outcome {
    let Some(url) = ctx.authorizer.clone() else {
        return Outcome::skip(
            "no --authorizer URL: the server under test has no Authorizer configured",
        );
    };
    let task = ctx.spawn_to(&url, HttpRequest::get(""));
    let Some(a) = ctx.app.collect(ctx.deadline()).await else {
        let resp = ctx.finish(task).await;
        return no_request("the Authorizer request", &resp);
    };
    ctx.app.write(
        a.conn,
        ctx.app
            .stdout_bytes(a.id, b"Status: 403 Forbidden\r\n\r\nno\n", true),
    );
    ctx.app
        .end_request(a.conn, a.id, 0, ProtocolStatus::RequestComplete);
    let _ = ctx.finish(task).await;
    if let Some(o) = violation(&a) {
        return o;
    }
    if !a.stdin.is_empty() {
        return Outcome::fail(
            "no request body on STDIN (R-6.3-2)",
            format!("{} STDIN bytes", a.stdin.len()),
        );
    }
    let present: Vec<&str> = [
        "CONTENT_LENGTH",
        "PATH_INFO",
        "PATH_TRANSLATED",
        "SCRIPT_NAME",
    ]
    .into_iter()
    .filter(|n| a.param(n).is_some())
    .collect();
    if !present.is_empty() {
        return Outcome::fail(
            "no CONTENT_LENGTH, PATH_INFO, PATH_TRANSLATED or SCRIPT_NAME for an Authorizer (R-6.3-3)",
            format!("sent {}", present.join(", ")),
        );
    }
    Outcome::pass(format!(
        "{} params, none of the four left out by §6.3; STDIN {}",
        a.params.len(),
        if a.stdin_records == 0 {
            "not sent"
        } else {
            "empty"
        }
    ))
}

async fn authorizer_variables(ctx: &mut Ctx) -> Outcome {
    authorizer(ctx, true).await
}

async fn authorizer_deny(ctx: &mut Ctx) -> Outcome {
    authorizer(ctx, false).await
}

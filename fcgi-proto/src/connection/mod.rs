//! One transport connection (§3.3, §4, §5, §6), seen from either party: the
//! application's side ([`application`]) and the web server's side
//! ([`web_server`]), each a sans-IO state machine fed the records its peer sent.

pub mod application;
pub mod web_server;

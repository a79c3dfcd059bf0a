//! The two parties a driver can play (§1: the web server and the
//! application), each with its state machine from `fcgi_proto::connection`.

use std::sync::{Arc, Mutex};

use fcgi_proto::connection::{Application, ApplicationEvent, WebServer, WebServerEvent};
use fcgi_proto::record::Record;
use fcgi_proto::Error;

use crate::transcript::Dir;

/// A party's state machine as the driver uses it: one inbound record in,
/// one event or one error out.
pub trait Party: Send {
    /// What one record becomes.
    type Event<'a>;
    /// Which way this party's own bytes travel.
    const SENDS: Dir;
    /// Judges one record from the other party.
    fn handle<'a>(&mut self, record: &Record<'a>) -> Result<Self::Event<'a>, Error>;
}

impl Party for WebServer {
    type Event<'a> = WebServerEvent<'a>;
    const SENDS: Dir = Dir::ToApp;
    fn handle<'a>(&mut self, record: &Record<'a>) -> Result<WebServerEvent<'a>, Error> {
        WebServer::handle(self, record)
    }
}

impl Party for Application {
    type Event<'a> = ApplicationEvent<'a>;
    const SENDS: Dir = Dir::ToServer;
    fn handle<'a>(&mut self, record: &Record<'a>) -> Result<ApplicationEvent<'a>, Error> {
        Application::handle(self, record)
    }
}

/// A party shared with tasks that write through it while the driver reads
/// (the reference application's responders): each record locks it once.
impl<P: Party> Party for Arc<Mutex<P>> {
    type Event<'a> = P::Event<'a>;
    const SENDS: Dir = P::SENDS;
    fn handle<'a>(&mut self, record: &Record<'a>) -> Result<P::Event<'a>, Error> {
        self.lock()
            .unwrap_or_else(|p| p.into_inner())
            .handle(record)
    }
}

#[allow(
    dead_code,
    reason = "was public before the library API narrowed; kept for the shells that will use it"
)]
/// No state machine: the shell judges the records itself (a raw
/// connection, such as the hostile cases'); every record is its own event.
#[derive(Debug, Default, Clone, Copy)]
pub struct Raw;

impl Party for Raw {
    type Event<'a> = ();
    const SENDS: Dir = Dir::ToApp;
    fn handle<'a>(&mut self, _record: &Record<'a>) -> Result<(), Error> {
        Ok(())
    }
}

//! What can go wrong between the web server and the application.

use std::fmt;
use std::io;

/// An error of the FastCGI client (the web-server side, §3–§6).
#[derive(Debug)]
pub enum ClientError {
    /// Connecting to the application failed or timed out.
    Connect(io::Error),
    /// Reading or writing the transport connection failed.
    Io(io::Error),
    /// The application closed the connection before `FCGI_END_REQUEST`
    /// (R-5.5-5); `response_bytes` of output had arrived by then.
    EarlyClose {
        /// STDOUT bytes received before the close.
        response_bytes: usize,
    },
    /// The application sent a record for a request id that is not active:
    /// one we never began, or one that already ended (R-5.5-4).
    RequestIdMismatch {
        /// The id it used.
        request_id: u16,
        /// The codec's account of it.
        error: fcgi_proto::Error,
    },
    /// A malformed record or stream from the application (§3.3, §5).
    Malformed(fcgi_proto::Error),
    /// The request cannot be written as records: the codec refused our own
    /// write (a name or value over 2^31-1 bytes, §3.4; a request id that
    /// is not free, §5.1).
    Unwritable(fcgi_proto::UsageError),
    /// The response went over [`super::Config::max_response_bytes`].
    ResponseTooLarge {
        /// The limit.
        limit: usize,
    },
    /// No byte arrived from the application within the timeout.
    Timeout,
    /// The client is shutting down and takes no new request.
    ShuttingDown,
}

impl ClientError {
    /// Whether the application closed or broke the connection before any
    /// response byte: the request may be replayed on a fresh connection.
    pub fn closed_before_response(&self) -> bool {
        match self {
            ClientError::EarlyClose { response_bytes } => *response_bytes == 0,
            ClientError::Io(e) => matches!(
                e.kind(),
                io::ErrorKind::BrokenPipe
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::UnexpectedEof
            ),
            _ => false,
        }
    }

    pub(crate) fn copy(&self) -> ClientError {
        match self {
            ClientError::Connect(e) => {
                ClientError::Connect(io::Error::new(e.kind(), e.to_string()))
            }
            ClientError::Io(e) => ClientError::Io(io::Error::new(e.kind(), e.to_string())),
            ClientError::EarlyClose { response_bytes } => ClientError::EarlyClose {
                response_bytes: *response_bytes,
            },
            ClientError::RequestIdMismatch { request_id, error } => {
                ClientError::RequestIdMismatch {
                    request_id: *request_id,
                    error: *error,
                }
            }
            ClientError::Malformed(e) => ClientError::Malformed(*e),
            ClientError::Unwritable(e) => ClientError::Unwritable(*e),
            ClientError::ResponseTooLarge { limit } => {
                ClientError::ResponseTooLarge { limit: *limit }
            }
            ClientError::Timeout => ClientError::Timeout,
            ClientError::ShuttingDown => ClientError::ShuttingDown,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Connect(e) => write!(f, "cannot connect to the application: {e}"),
            ClientError::Io(e) => write!(f, "transport error: {e}"),
            ClientError::EarlyClose { response_bytes } => write!(
                f,
                "the application closed the connection before FCGI_END_REQUEST, after {response_bytes} STDOUT bytes (R-5.5-5)"
            ),
            ClientError::RequestIdMismatch { request_id, error } => write!(
                f,
                "record for request id {request_id}, which is not active: {error}"
            ),
            ClientError::Malformed(e) => write!(f, "malformed input from the application: {e}"),
            ClientError::Unwritable(e) => write!(f, "the request cannot be written: {e}"),
            ClientError::ResponseTooLarge { limit } => {
                write!(f, "response larger than the limit of {limit} bytes")
            }
            ClientError::Timeout => f.write_str("timed out waiting for the application"),
            ClientError::ShuttingDown => f.write_str("the client is shutting down"),
        }
    }
}

impl std::error::Error for ClientError {}

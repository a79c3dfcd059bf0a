//! Limits on every length, count and buffer that a peer controls.

/// Limits applied by the decoder, the stream reassembler, the state machines
/// and the CGI head parser; each [`crate::error::Limit`] is named after its
/// field here. Hitting one is an error ([`crate::ErrorKind::LimitExceeded`]),
/// never an allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes in one request's PARAMS stream (§5.2). Default 1 MiB.
    pub max_params_bytes: usize,
    /// Pairs in one request's PARAMS stream (§5.2). Default 4096.
    pub max_pairs: usize,
    /// Bytes buffered for one stream of one request by the reassembler (§5.3). Default 64 MiB.
    pub max_stream_bytes: usize,
    /// Request ids active at once on one connection (§3.3). Default 1024.
    pub max_requests: usize,
    /// Bytes of a GET_VALUES or GET_VALUES_RESULT block (§4.1). Default 64 KiB
    /// (one record's worth).
    pub max_management_bytes: usize,
    /// Bytes a [`crate::decoder::Decoder`] holds of records not yet taken
    /// (§3.3), raised to at least one maximal record. Default 1 MiB.
    pub max_buffer_bytes: usize,
    /// Header lines in a CGI response head ([`crate::cgi::parse_response`],
    /// §6.2, RFC 3875 §6). Default 256.
    pub max_cgi_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_params_bytes: 1 << 20,
            max_pairs: 4096,
            max_stream_bytes: 64 << 20,
            max_requests: 1024,
            max_management_bytes: 65535,
            max_buffer_bytes: 1 << 20,
            max_cgi_headers: 256,
        }
    }
}

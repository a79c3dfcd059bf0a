//! Management records (§4): `FCGI_GET_VALUES`, `FCGI_GET_VALUES_RESULT`
//! (§4.1) and `FCGI_UNKNOWN_TYPE` (§4.2). They carry request id 0.

use crate::error::{Error, ErrorKind, UsageError};
use crate::name_value;
use crate::record::RecordType;

/// `FCGI_MAX_CONNS`: the most concurrent connections the application accepts (§4.1).
pub const MAX_CONNS: &str = "FCGI_MAX_CONNS";
/// `FCGI_MAX_REQS`: the most concurrent requests the application accepts (§4.1).
pub const MAX_REQS: &str = "FCGI_MAX_REQS";
/// `FCGI_MPXS_CONNS`: `"1"` if the application multiplexes connections, else `"0"` (§4.1).
pub const MPXS_CONNS: &str = "FCGI_MPXS_CONNS";
/// The three variables §4.1 defines.
pub const KNOWN_VARIABLES: [&str; 3] = [MAX_CONNS, MAX_REQS, MPXS_CONNS];

/// The body of `FCGI_UNKNOWN_TYPE` (§4.2): the type code that was not
/// understood, then 7 reserved bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct UnknownTypeBody {
    /// The record type code the application did not understand.
    pub record_type: u8,
}

impl UnknownTypeBody {
    /// Parses exactly 8 bytes of content (R-4.2-1); `base` is the content's offset.
    pub fn parse(content: &[u8], base: u64) -> Result<Self, Error> {
        let [t, ..]: [u8; 8] = content.try_into().map_err(|_| {
            Error::new(
                ErrorKind::BadBodyLength {
                    record_type: RecordType::UnknownType,
                    actual: content.len(),
                },
                base,
            )
        })?;
        Ok(UnknownTypeBody { record_type: t })
    }

    /// The 8 body bytes.
    pub fn to_bytes(&self) -> [u8; 8] {
        [self.record_type, 0, 0, 0, 0, 0, 0, 0]
    }
}

/// What an application says of itself in `FCGI_GET_VALUES_RESULT` (§4.1).
/// `None` leaves the variable out of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Values {
    /// `FCGI_MAX_CONNS`.
    pub max_conns: Option<u32>,
    /// `FCGI_MAX_REQS`.
    pub max_reqs: Option<u32>,
    /// `FCGI_MPXS_CONNS`.
    pub mpxs_conns: Option<bool>,
}

impl Values {
    /// The value for a variable name, if known and set (R-4.1-2: unknown names get none).
    pub fn get(&self, name: &[u8]) -> Option<String> {
        match name {
            n if n == MAX_CONNS.as_bytes() => self.max_conns.map(|v| v.to_string()),
            n if n == MAX_REQS.as_bytes() => self.max_reqs.map(|v| v.to_string()),
            n if n == MPXS_CONNS.as_bytes() => self
                .mpxs_conns
                .map(|v| if v { "1" } else { "0" }.to_string()),
            _ => None,
        }
    }

    /// The content of a GET_VALUES_RESULT answering the names in a
    /// GET_VALUES `query` block, leaving out names it does not know (R-4.1-2).
    pub fn answer(&self, query: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        for pair in name_value::pairs(query) {
            let (name, _) = pair?;
            if let Some(v) = self.get(name) {
                // A known name and its number are a few bytes: the 2^31-1
                // bound of encode_pair is out of reach.
                let _ = name_value::encode_pair(name, v.as_bytes(), &mut out);
            }
        }
        Ok(out)
    }
}

/// The content of a GET_VALUES asking for `names`, each with an empty value (§4.1).
pub fn query<'n, I: IntoIterator<Item = &'n [u8]>>(names: I) -> Result<Vec<u8>, UsageError> {
    let mut out = Vec::new();
    for n in names {
        name_value::encode_pair(n, b"", &mut out)?;
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn answer_leaves_out_unknown_names() {
        let q = query([MPXS_CONNS.as_bytes(), b"NOPE", MAX_REQS.as_bytes()]).unwrap();
        let v = Values {
            max_conns: Some(10),
            max_reqs: Some(50),
            mpxs_conns: Some(true),
        };
        let a = v.answer(&q).unwrap();
        let got: Vec<_> = name_value::pairs(&a).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            got,
            vec![
                (MPXS_CONNS.as_bytes(), &b"1"[..]),
                (MAX_REQS.as_bytes(), &b"50"[..])
            ]
        );
    }

    #[test]
    fn unknown_type_body_is_8_bytes() {
        assert_eq!(UnknownTypeBody { record_type: 99 }.to_bytes()[0], 99);
        let e = UnknownTypeBody::parse(&[99], 8).unwrap_err();
        assert_eq!(e.section().to_string(), "§4.2");
    }
}

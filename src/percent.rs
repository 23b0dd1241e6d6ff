//! Percent-encoding sets shared by URLs, the qsh and masking.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};

/// Characters left as they are when encoding `query:` values and qsh parts: RFC 3986 unreserved.
pub(crate) const UNRESERVED_ONLY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

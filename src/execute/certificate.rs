//! What `explain` says about a certificate: its subject, its issuer and its
//! validity, read from the DER with a small reader of the few X.509 fields
//! needed (RFC 5280 §4.1); never the key.

/// One certificate, as `explain` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CertificateSummary {
    /// `CN=…, O=…` of the subject.
    pub subject: String,
    /// The same of the issuer.
    pub issuer: String,
    /// `notBefore`, as written (`YYYY-MM-DD HH:MM:SS UTC`).
    pub not_before: String,
    /// `notAfter`, the same.
    pub not_after: String,
}

impl std::fmt::Display for CertificateSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "subject {}; issuer {}; valid {} to {}",
            self.subject, self.issuer, self.not_before, self.not_after
        )
    }
}

/// One DER element: its tag and its contents.
struct Element<'a> {
    tag: u8,
    contents: &'a [u8],
}

/// Reads the element at the start of `input`; the rest follows it.
fn element(input: &[u8]) -> Option<(Element<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let length = rest[..count]
            .iter()
            .fold(0usize, |n, &b| (n << 8) | usize::from(b));
        (length, &rest[count..])
    };
    (rest.len() >= length).then(|| {
        (
            Element {
                tag,
                contents: &rest[..length],
            },
            &rest[length..],
        )
    })
}

/// The elements inside a constructed element's contents.
fn children(contents: &[u8]) -> Option<Vec<Element<'_>>> {
    let mut rest = contents;
    let mut all = Vec::new();
    while !rest.is_empty() {
        let (next, after) = element(rest)?;
        all.push(next);
        rest = after;
    }
    Some(all)
}

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// The short name of an attribute type (`2.5.4.3` is `CN`).
fn attribute_name(oid: &[u8]) -> String {
    match oid {
        [0x55, 0x04, 0x03] => "CN".into(),
        [0x55, 0x04, 0x06] => "C".into(),
        [0x55, 0x04, 0x07] => "L".into(),
        [0x55, 0x04, 0x08] => "ST".into(),
        [0x55, 0x04, 0x0a] => "O".into(),
        [0x55, 0x04, 0x0b] => "OU".into(),
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] => "emailAddress".into(),
        other => format!("OID {}", hex::encode(other)),
    }
}

/// `CN=…, O=…` of a Name (a SEQUENCE OF SET OF type and value).
fn name(element: &Element<'_>) -> Option<String> {
    if element.tag != SEQUENCE {
        return None;
    }
    let mut parts = Vec::new();
    for rdn in children(element.contents)? {
        if rdn.tag != SET {
            return None;
        }
        for pair in children(rdn.contents)? {
            let fields = children(pair.contents)?;
            let [kind, value] = fields.as_slice() else {
                return None;
            };
            if kind.tag != OID {
                return None;
            }
            let text = String::from_utf8_lossy(value.contents);
            parts.push(format!(
                "{}={}",
                attribute_name(kind.contents),
                crate::http::printable(&text)
            ));
        }
    }
    Some(parts.join(", "))
}

/// A UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`) as
/// `YYYY-MM-DD HH:MM:SS UTC`.
fn time(element: &Element<'_>) -> Option<String> {
    let text = std::str::from_utf8(element.contents).ok()?;
    let digits = text.strip_suffix('Z')?;
    // Slicing by bytes below: a hostile certificate's non-ASCII time is refused first.
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let full = match (element.tag, digits.len()) {
        (UTC_TIME, 12) => {
            let year: u32 = digits[..2].parse().ok()?;
            format!("{}{digits}", if year >= 50 { "19" } else { "20" })
        }
        (GENERALIZED_TIME, 14) => digits.to_string(),
        _ => return None,
    };
    if !full.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!(
        "{}-{}-{} {}:{}:{} UTC",
        &full[..4],
        &full[4..6],
        &full[6..8],
        &full[8..10],
        &full[10..12],
        &full[12..14]
    ))
}

/// The subject, issuer and validity of a DER certificate; `None` when it
/// does not read as one.
pub(crate) fn summarize(der: &[u8]) -> Option<CertificateSummary> {
    let (certificate, _) = element(der)?;
    let parts = children(certificate.contents)?;
    let tbs = parts.first().filter(|e| e.tag == SEQUENCE)?;
    let fields = children(tbs.contents)?;
    // An explicit version ([0]) comes first when present.
    let skip = usize::from(fields.first()?.tag == 0xa0);
    // serialNumber, signature, issuer, validity, subject.
    let issuer = name(fields.get(skip + 2)?)?;
    let validity = children(fields.get(skip + 3)?.contents)?;
    let subject = name(fields.get(skip + 4)?)?;
    let [not_before, not_after] = validity.as_slice() else {
        return None;
    };
    Some(CertificateSummary {
        subject,
        issuer,
        not_before: time(not_before)?,
        not_after: time(not_after)?,
    })
}

/// The first certificate of a PEM text, summarised.
pub(crate) fn summarize_pem(pem: &[u8]) -> Option<CertificateSummary> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let der = CertificateDer::pem_slice_iter(pem).next()?.ok()?;
    summarize(&der)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).expect("data")
    }

    #[test]
    fn the_test_certificates_read_as_openssl_shows_them() {
        let server = summarize_pem(&data("tls-server.pem")).expect("a certificate");
        assert_eq!(
            server,
            CertificateSummary {
                subject: "CN=127.0.0.1".into(),
                issuer: "CN=permatrix test CA".into(),
                not_before: "2026-11-29 02:46:08 UTC".into(),
                not_after: "2126-11-05 02:46:08 UTC".into(),
            }
        );
        let client = summarize_pem(&data("tls-client.pem")).expect("a certificate");
        assert_eq!(client.subject, "CN=permatrix client");
        assert!(summarize(b"not a certificate").is_none());
        let odd = Element {
            tag: UTC_TIME,
            contents: "€000000000Z".as_bytes(),
        };
        assert!(time(&odd).is_none());
        assert!(summarize_pem(&data("tls-client.key")).is_none());
    }
}

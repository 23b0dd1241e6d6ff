//! Base URLs as users give them: http or https, a host, nothing a report must not show.

use url::Url;

/// Parses a base URL given by a user: http or https with a host.
pub fn parse_base_url(text: &str) -> Result<Url, BaseUrlError> {
    let url = Url::parse(text.trim()).map_err(|source| BaseUrlError::Unparsable {
        text: shown(text),
        source,
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(BaseUrlError::NotHttp(shown(text)));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // The URL is shown in every report; credentials belong in a principal's auth.
        return Err(BaseUrlError::Credentials);
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(BaseUrlError::QueryOrFragment(shown(text)));
    }
    Ok(url)
}

/// A base URL as an error may show it: a query or fragment (where API keys
/// travel) and a user name or password are left out.
fn shown(text: &str) -> String {
    let text = text.trim();
    let cut = text.find(['?', '#']).unwrap_or(text.len());
    let (base, rest) = text.split_at(cut);
    let base = match (base.find("://"), base.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}…{}", &base[..scheme_end + 3], &base[at..])
        }
        _ => base.to_string(),
    };
    if rest.is_empty() {
        base
    } else {
        format!("{base}{}…", &rest[..1])
    }
}

/// Why a text is not a base URL permatrix accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BaseUrlError {
    /// Not a URL.
    #[error("`{text}` is not a valid base URL: {source}")]
    Unparsable {
        /// The text.
        text: String,
        /// Why.
        source: url::ParseError,
    },
    /// Not http(s), or no host.
    #[error("`{0}` is not a valid base URL: it needs http:// or https:// and a host")]
    NotHttp(String),
    /// A user name or password in it.
    #[error(
        "a base URL must not carry a user name or password: give them to a principal's `auth:`"
    )]
    Credentials,
    /// A query or fragment in it.
    #[error("`{0}` is not a valid base URL: it cannot have a query or fragment")]
    QueryOrFragment(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_need_http_and_a_host() {
        assert!(parse_base_url("http://127.0.0.1:1").is_ok());
        assert!(parse_base_url("ftp://x").is_err());
        assert!(parse_base_url("not a url").is_err());
        assert!(parse_base_url("http://admin:pw@host/").is_err());
        assert!(parse_base_url("http://host/?a=b").is_err());
        let error = parse_base_url("https://host/api?api_key=k3y-s3cr3t-value")
            .expect_err("a query")
            .to_string();
        assert!(!error.contains("k3y-s3cr3t"), "{error}");
        assert!(error.contains("https://host/api?…"), "{error}");
        let error = parse_base_url("ftp://user:pa55w0rd-x@host/")
            .expect_err("not http")
            .to_string();
        assert!(!error.contains("pa55w0rd"), "{error}");
    }
}

//! workerd's `HttpOptions` header rules, shared by sockets (incoming requests, outgoing
//! responses) and `external` services (outgoing requests, incoming responses), checked once
//! at start-up ([`HeaderRules`]): `forwardedProtoHeader`, `cfBlobHeader`, and
//! `injectRequestHeaders`/`injectResponseHeaders`, which replace any header of the same name
//! (an entry without a value removes it). What each side does with them is the side's own.

use http::{HeaderMap, HeaderName, HeaderValue};
use nanod_config::HttpOptions;

/// The header-naming fields of an `HttpOptions`, checked.
#[derive(Debug, Clone, Default)]
pub struct HeaderRules {
    pub forwarded_proto: Option<HeaderName>,
    pub cf_blob: Option<HeaderName>,
    pub inject_request: InjectedHeaders,
    pub inject_response: InjectedHeaders,
}

impl HeaderRules {
    /// Checks `options`' header names and values; the error names the field.
    pub fn new(options: &HttpOptions) -> Result<HeaderRules, String> {
        let header_name = |field: &str, name: &Option<String>| -> Result<Option<HeaderName>, String> {
            name.as_deref()
                .map(|n| {
                    HeaderName::from_bytes(n.as_bytes()).map_err(|_| format!("{field}: invalid header name \"{n}\""))
                })
                .transpose()
        };
        Ok(HeaderRules {
            forwarded_proto: header_name("forwardedProtoHeader", &options.forwarded_proto_header)?,
            cf_blob: header_name("cfBlobHeader", &options.cf_blob_header)?,
            inject_request: InjectedHeaders::new(&options.inject_request_headers)
                .map_err(|e| format!("injectRequestHeaders: {e}"))?,
            inject_response: InjectedHeaders::new(&options.inject_response_headers)
                .map_err(|e| format!("injectResponseHeaders: {e}"))?,
        })
    }
}

/// `injectRequestHeaders` or `injectResponseHeaders`, checked once at start-up.
#[derive(Debug, Clone, Default)]
pub struct InjectedHeaders(Vec<(HeaderName, Option<HeaderValue>)>);

impl InjectedHeaders {
    pub fn new(headers: &[nanod_config::Header]) -> Result<InjectedHeaders, String> {
        let mut checked = Vec::with_capacity(headers.len());
        for header in headers {
            let name = HeaderName::from_bytes(header.name.as_bytes())
                .map_err(|_| format!("invalid header name \"{}\"", header.name))?;
            let value = match &header.value {
                Some(value) => Some(
                    HeaderValue::from_str(value)
                        .map_err(|_| format!("invalid value for header \"{}\"", header.name))?,
                ),
                None => None,
            };
            checked.push((name, value));
        }
        Ok(InjectedHeaders(checked))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Replaces (or removes) each configured header in `headers`.
    pub fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.0 {
            match value {
                Some(value) => {
                    headers.insert(name.clone(), value.clone());
                }
                None => {
                    headers.remove(name);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_headers_replace_and_remove() {
        let config = [
            nanod_config::Header { name: "X-Token".to_owned(), value: Some("secret".to_owned()) },
            nanod_config::Header { name: "cookie".to_owned(), value: None },
        ];
        let injected = InjectedHeaders::new(&config).unwrap();
        let mut headers = HeaderMap::new();
        headers.append("x-token", HeaderValue::from_static("a"));
        headers.append("x-token", HeaderValue::from_static("b"));
        headers.insert("cookie", HeaderValue::from_static("c=1"));
        headers.insert("accept", HeaderValue::from_static("*/*"));
        injected.apply(&mut headers);
        assert_eq!(headers.get_all("x-token").iter().collect::<Vec<_>>(), ["secret"]);
        assert!(headers.get("cookie").is_none());
        assert_eq!(headers.get("accept").unwrap(), "*/*");
    }

    #[test]
    fn bad_names_and_values_are_refused() {
        let bad_name = [nanod_config::Header { name: "bad name".to_owned(), value: None }];
        assert!(InjectedHeaders::new(&bad_name).unwrap_err().contains("invalid header name"));
        let bad_value = [nanod_config::Header { name: "x".to_owned(), value: Some("a\nb".to_owned()) }];
        assert!(InjectedHeaders::new(&bad_value).unwrap_err().contains("invalid value"));
    }
}

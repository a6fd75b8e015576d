//! Opening one outbound connection: TCP to the first [`Peer`] that accepts within the connect
//! timeout (trying the next one when connecting fails), then, for `https`, the TLS handshake
//! with the service's client config and server name. The negotiated ALPN protocol says whether
//! the connection speaks HTTP/2.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use super::{OutboundError, Peer};

/// A connected byte stream: plain TCP or TLS over TCP.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// A fresh connection, and what it speaks.
pub struct Connected {
    pub stream: Stream,
    pub peer: Peer,
    /// ALPN chose `h2`.
    pub h2: bool,
}

/// Connects to the first of `peers` that accepts; `tls` is the client config and the server
/// name to verify (and send as SNI when it is a DNS name).
pub async fn connect(
    peers: &[Peer],
    tls: Option<(&Arc<rustls::ClientConfig>, &ServerName<'static>)>,
    timeout: Duration,
) -> Result<Connected, OutboundError> {
    let mut last = OutboundError::NoAddress;
    for &peer in peers {
        let addr = peer.addr();
        let tcp = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(tcp)) => tcp,
            Ok(Err(source)) => {
                last = OutboundError::Connect { addr, source };
                continue;
            }
            Err(_) => {
                last = OutboundError::ConnectTimeout { addr, timeout };
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let Some((config, name)) = tls else {
            return Ok(Connected { stream: Stream::Plain(tcp), peer, h2: false });
        };
        let connector = tokio_rustls::TlsConnector::from(config.clone());
        let stream = match tokio::time::timeout(timeout, connector.connect(name.clone(), tcp)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(source)) => return Err(OutboundError::Tls { addr, name: name.to_str().into_owned(), source }),
            Err(_) => return Err(OutboundError::ConnectTimeout { addr, timeout }),
        };
        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        return Ok(Connected { stream: Stream::Tls(Box::new(stream)), peer, h2 });
    }
    Err(last)
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

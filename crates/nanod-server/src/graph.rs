//! `nanod graph`: the capability graph of a config — which service can reach which — and its
//! two renderings, human-readable text and Graphviz DOT.
//!
//! A service can reach what its bindings name (service, KV, R2, queue... designators), its
//! `globalOutbound` (by default the implicit `internet` network service), its
//! `cacheApiOutbound`, its tails and its durable-object storage. A `network` service's reach is
//! its allow/deny lists, so the graph says, decided by the real [`Policy`] on representative
//! addresses, whether it reaches public addresses, private networks and this machine. The
//! graph is a pure function of the config: nothing is resolved, compiled or evaluated.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::{self, Write as _};
use std::net::{IpAddr, SocketAddr};

use nanod_config::{
    Binding, BindingKind, Config, CryptoKeyFormat, DurableObjectStorage, ExternalProtocol, HttpOptions, HttpStyle,
    ServiceDesignator, ServiceKind, SocketProtocol, WorkerSource,
};

use crate::error::Location;
use crate::network::{AddressClass, Policy, UnixKind};
use crate::prepare::INTERNET;

/// A `network` service whose allow/deny lists do not parse; the graph of such a config would
/// misstate what it can reach.
#[derive(Debug, thiserror::Error)]
#[error("{at}service \"{service}\": {message}")]
pub struct GraphError {
    at: Location,
    service: String,
    message: String,
}

/// The capability graph of one config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graph {
    /// In config order.
    pub sockets: Vec<SocketNode>,
    /// In config order; the implicit `internet` last, when something reaches it.
    pub services: Vec<ServiceNode>,
}

/// A socket: where requests come in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketNode {
    pub name: String,
    /// `None` when the address must come from `--socket-addr`.
    pub address: Option<String>,
    /// `http`, `https`, `tcp` or `tcp+tls`, with `style=proxy` when so.
    pub protocol: String,
    pub target: Target,
}

/// The service (and entrypoint) an edge leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub service: String,
    pub entrypoint: Option<String>,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.entrypoint {
            Some(entrypoint) => write!(f, "{}:{entrypoint}", self.service),
            None => f.write_str(&self.service),
        }
    }
}

/// One service and what it can reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceNode {
    pub name: String,
    pub kind: NodeKind,
    /// The `internet` service workerd provides when the config defines none.
    pub implicit: bool,
    pub edges: Vec<Edge>,
    /// Bindings that are values, not capabilities (text, data, json, environment...).
    pub values: Vec<Value>,
    /// Whether some socket reaches this service, directly or through other services.
    pub reachable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeKind {
    Worker {
        /// `inherit = "base"`.
        inherits: Option<String>,
        /// Classes of the Worker's `durableObjectNamespaces`.
        durable_objects: Vec<String>,
    },
    Network(NetworkReach),
    External {
        /// `None` when it must come from `--external-addr`.
        address: Option<String>,
        protocol: String,
    },
    Disk {
        /// `None` when it must come from `--directory-path`.
        path: Option<String>,
        writable: bool,
        allow_dotfiles: bool,
    },
}

/// What a `network` service's allow/deny lists let it reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkReach {
    /// The lists as written.
    pub allow: Vec<String>,
    pub deny: Vec<String>,
    /// One line per address category: `public addresses: yes`, `this machine ...: no`.
    pub verdicts: Vec<(&'static str, String)>,
}

/// An edge: a capability of one service to call another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    /// The binding name, `globalOutbound`, `tail`...; with its kind when not a plain service.
    pub label: String,
    pub kind: EdgeKind,
    pub target: Target,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// A binding (service, KV, R2, queue, durable object...).
    Binding,
    /// `globalOutbound`, given or by default.
    Outbound,
    /// `tails`: the target receives this service's tail events.
    Tail,
    /// A designator's fallback service.
    Fallback,
    /// `durableObjectStorage = (localDisk = ...)`.
    Storage,
}

/// A binding whose value is data, shown beside its service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    pub name: String,
    pub description: String,
}

/// Address categories a network policy is asked about, with representative addresses. The
/// verdict is [`Policy::check`]'s on these, so it is the runtime's decision, not a re-reading
/// of the lists.
const CATEGORIES: &[(&str, AddressClass, &[&str])] = &[
    ("public addresses", AddressClass::Public, &["1.1.1.1", "93.184.215.14", "2606:4700::1111"]),
    (
        "private networks (incl. link-local 169.254.169.254)",
        AddressClass::Private,
        &["10.0.0.1", "172.16.0.1", "192.168.0.1", "100.64.0.1", "169.254.169.254", "fe80::1", "fc00::1"],
    ),
    ("this machine (loopback)", AddressClass::Local, &["127.0.0.1", "::1", "0.0.0.0"]),
    (
        "documentation and benchmarking ranges",
        AddressClass::Special,
        &["192.0.2.1", "198.51.100.1", "203.0.113.1", "198.18.0.1", "2001:db8::1"],
    ),
];

impl Graph {
    /// The graph of a validated config (see [`nanod_config::validate`]).
    pub fn of(config: &Config) -> Result<Graph, GraphError> {
        let sockets = config
            .sockets
            .iter()
            .map(|socket| SocketNode {
                name: socket.name.clone(),
                address: socket.address.clone(),
                protocol: match &socket.protocol {
                    SocketProtocol::Http(options) => http_protocol("http", options),
                    SocketProtocol::Https { options, .. } => http_protocol("https", options),
                    SocketProtocol::Tcp { tls: None } => "tcp".to_owned(),
                    SocketProtocol::Tcp { tls: Some(_) } => "tcp+tls".to_owned(),
                },
                target: target(&socket.service),
            })
            .collect();
        let mut services = Vec::with_capacity(config.services.len() + 1);
        for service in &config.services {
            let mut edges = Vec::new();
            let mut values = Vec::new();
            let kind = match &service.kind {
                ServiceKind::Worker(worker) => {
                    for binding in &worker.bindings {
                        binding_node(binding, &service.name, &mut edges, &mut values);
                    }
                    if let Some(limits) = limits_set(&worker.limits) {
                        values.push(Value { name: "limits".to_owned(), description: limits });
                    }
                    match &worker.global_outbound {
                        Some(d) => designator_edges("globalOutbound", EdgeKind::Outbound, d, &mut edges),
                        None => edges.push(Edge {
                            label: "globalOutbound (default)".to_owned(),
                            kind: EdgeKind::Outbound,
                            target: Target { service: INTERNET.to_owned(), entrypoint: None },
                        }),
                    }
                    if let Some(d) = &worker.cache_api_outbound {
                        designator_edges("cacheApiOutbound", EdgeKind::Outbound, d, &mut edges);
                    }
                    for d in &worker.tails {
                        designator_edges("tail", EdgeKind::Tail, d, &mut edges);
                    }
                    if let DurableObjectStorage::LocalDisk(disk) = &worker.durable_object_storage {
                        edges.push(Edge {
                            label: "durableObjectStorage".to_owned(),
                            kind: EdgeKind::Storage,
                            target: Target { service: disk.clone(), entrypoint: None },
                        });
                    }
                    NodeKind::Worker {
                        inherits: match &worker.source {
                            WorkerSource::Inherit(base) => Some(base.clone()),
                            _ => None,
                        },
                        durable_objects: worker
                            .durable_object_namespaces
                            .iter()
                            .map(|ns| ns.class_name.clone())
                            .collect(),
                    }
                }
                ServiceKind::Network(network) => {
                    let policy = Policy::from_config(network).map_err(|e| GraphError {
                        at: Location(Some(service.span.clone())),
                        service: service.name.clone(),
                        message: e.to_string(),
                    })?;
                    NodeKind::Network(reach(&policy, &network.allow, &network.deny))
                }
                ServiceKind::External(external) => NodeKind::External {
                    address: external.address.clone(),
                    protocol: match &external.protocol {
                        ExternalProtocol::Http(options) => http_protocol("http", options),
                        ExternalProtocol::Https { options, certificate_host, .. } => {
                            let mut protocol = http_protocol("https", options);
                            if let Some(host) = certificate_host {
                                let _ = write!(protocol, ", certificateHost={host}");
                            }
                            protocol
                        }
                        ExternalProtocol::Tcp { tls: None, .. } => "tcp".to_owned(),
                        ExternalProtocol::Tcp { tls: Some(_), .. } => "tcp+tls".to_owned(),
                    },
                },
                ServiceKind::Disk(disk) => NodeKind::Disk {
                    path: disk.path.clone(),
                    writable: disk.writable,
                    allow_dotfiles: disk.allow_dotfiles,
                },
            };
            services.push(ServiceNode {
                name: service.name.clone(),
                kind,
                implicit: false,
                edges,
                values,
                reachable: false,
            });
        }
        let defines_internet = services.iter().any(|s| s.name == INTERNET);
        let uses_internet = services.iter().flat_map(|s| &s.edges).any(|e| e.target.service == INTERNET)
            || config.sockets.iter().any(|s| s.service.name == INTERNET);
        if !defines_internet && uses_internet {
            let none: &[&str] = &[];
            services.push(ServiceNode {
                name: INTERNET.to_owned(),
                kind: NodeKind::Network(reach(&Policy::default(), &["public"], none)),
                implicit: true,
                edges: Vec::new(),
                values: Vec::new(),
                reachable: false,
            });
        }
        let mut graph = Graph { sockets, services };
        graph.mark_reachable();
        Ok(graph)
    }

    /// Breadth-first from every socket's service.
    fn mark_reachable(&mut self) {
        let index: HashMap<String, usize> =
            self.services.iter().enumerate().map(|(i, s)| (s.name.clone(), i)).collect();
        let mut seen = HashSet::new();
        let mut queue: VecDeque<usize> =
            self.sockets.iter().filter_map(|s| index.get(&s.target.service).copied()).collect();
        while let Some(i) = queue.pop_front() {
            if !seen.insert(i) {
                continue;
            }
            queue.extend(self.services[i].edges.iter().filter_map(|e| index.get(&e.target.service).copied()));
        }
        for i in seen {
            self.services[i].reachable = true;
        }
    }

    /// Services no socket reaches, in config order.
    pub fn unreachable(&self) -> impl Iterator<Item = &ServiceNode> {
        self.services.iter().filter(|s| !s.reachable)
    }

    /// The human-readable rendering; stable (config order) so it can be diffed.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        out.push_str("sockets:\n");
        if self.sockets.is_empty() {
            out.push_str("  none\n");
        }
        for socket in &self.sockets {
            let address = socket.address.as_deref().unwrap_or("(address from --socket-addr)");
            let _ = writeln!(out, "  {} {address} ({}) -> {}", socket.name, socket.protocol, socket.target);
        }
        out.push_str("\nservices:\n");
        for service in &self.services {
            let _ = write!(out, "  {}: {}", service.name, kind_name(service));
            if !service.reachable {
                out.push_str(" [unreachable from any socket]");
            }
            out.push('\n');
            for line in details(service) {
                let _ = writeln!(out, "    {line}");
            }
            for edge in &service.edges {
                let _ = writeln!(out, "    {} -> {}", edge.label, edge.target);
            }
            for value in &service.values {
                let _ = writeln!(out, "    {} = {}", value.name, value.description);
            }
        }
        let unreachable: Vec<&str> = self.unreachable().map(|s| s.name.as_str()).collect();
        let _ = writeln!(
            out,
            "\nunreachable from any socket: {}",
            if unreachable.is_empty() { "none".to_owned() } else { unreachable.join(", ") }
        );
        out
    }

    /// The Graphviz rendering (`dot -Tsvg`). Node ids are `socket:NAME` and `service:NAME`, so a
    /// socket and a service may share a name.
    pub fn to_dot(&self) -> String {
        let mut out = String::new();
        out.push_str("digraph nanod {\n");
        out.push_str("  rankdir=LR;\n");
        out.push_str("  node [fontname=\"Helvetica\", fontsize=10];\n");
        out.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n");
        for socket in &self.sockets {
            let address = socket.address.as_deref().unwrap_or("(address from --socket-addr)");
            let label = format!("socket {}\n{address} ({})", socket.name, socket.protocol);
            let _ = writeln!(out, "  {} [shape=cds, label={}];", quote(&socket_id(&socket.name)), quote(&label));
        }
        for service in &self.services {
            let mut label = format!("{}\n{}", service.name, kind_name(service));
            for line in details(service) {
                label.push('\n');
                label.push_str(&line);
            }
            let (shape, mut styles) = match service.kind {
                NodeKind::Worker { .. } => ("box", vec![]),
                NodeKind::Network(_) => ("box", vec!["rounded"]),
                NodeKind::External { .. } => ("hexagon", vec![]),
                NodeKind::Disk { .. } => ("folder", vec![]),
            };
            let mut colour = "";
            if !service.reachable {
                label.push_str("\n(unreachable from any socket)");
                styles.push("dashed");
                colour = ", color=red, fontcolor=red";
            }
            let mut attrs = format!("shape={shape}, label={}{colour}", quote(&label));
            if !styles.is_empty() {
                let _ = write!(attrs, ", style={}", quote(&styles.join(",")));
            }
            let _ = writeln!(out, "  {} [{attrs}];", quote(&service_id(&service.name)));
        }
        for socket in &self.sockets {
            let mut attrs = String::new();
            if let Some(entrypoint) = &socket.target.entrypoint {
                attrs = format!(" [label={}]", quote(&format!(":{entrypoint}")));
            }
            let _ = writeln!(
                out,
                "  {} -> {}{attrs};",
                quote(&socket_id(&socket.name)),
                quote(&service_id(&socket.target.service))
            );
        }
        for service in &self.services {
            for edge in &service.edges {
                let mut label = edge.label.clone();
                if let Some(entrypoint) = &edge.target.entrypoint {
                    let _ = write!(label, " :{entrypoint}");
                }
                let style = match edge.kind {
                    EdgeKind::Binding => "",
                    EdgeKind::Outbound => ", style=dashed",
                    EdgeKind::Tail | EdgeKind::Storage => ", style=dotted",
                    EdgeKind::Fallback => ", style=dashed, color=orange",
                };
                let _ = writeln!(
                    out,
                    "  {} -> {} [label={}{style}];",
                    quote(&service_id(&service.name)),
                    quote(&service_id(&edge.target.service)),
                    quote(&label)
                );
            }
        }
        out.push_str("}\n");
        out
    }
}

fn http_protocol(scheme: &str, options: &HttpOptions) -> String {
    match options.style {
        HttpStyle::Host => scheme.to_owned(),
        HttpStyle::Proxy => format!("{scheme}, style=proxy"),
    }
}

fn target(d: &ServiceDesignator) -> Target {
    Target { service: d.name.clone(), entrypoint: d.entrypoint.clone() }
}

/// The edges of a designator: to its service, and to its fallback (and the fallback's...),
/// labelled `LABEL (fallback)`. The one place that turns a designator into edges, so
/// per-binding options show up wherever designators do.
fn designator_edges(label: &str, kind: EdgeKind, d: &ServiceDesignator, edges: &mut Vec<Edge>) {
    let mut text = label.to_owned();
    if let Some(ms) = d.timeout_ms {
        let _ = write!(text, " (timeout {ms} ms)");
    }
    edges.push(Edge { label: text, kind, target: target(d) });
    if let Some(fallback) = &d.fallback {
        let label = format!("{} (fallback)", label.strip_suffix(" (fallback)").unwrap_or(label));
        designator_edges(&label, EdgeKind::Fallback, fallback, edges);
    }
}

/// The limits a Worker sets, as written (`cpuMs 50, subrequests 0`); `None` if it sets none.
fn limits_set(limits: &nanod_config::Limits) -> Option<String> {
    let set: Vec<String> = [
        ("cpuMs", limits.cpu_ms.map(u64::from)),
        ("memoryMb", limits.memory_mb.map(u64::from)),
        ("concurrentRequests", limits.concurrent_requests.map(u64::from)),
        ("requestBodyBytes", limits.request_body_bytes),
        ("subrequests", limits.subrequests.map(u64::from)),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|v| format!("{name} {v}")))
    .collect();
    (!set.is_empty()).then(|| set.join(", "))
}

fn binding_node(binding: &Binding, service: &str, edges: &mut Vec<Edge>, values: &mut Vec<Value>) {
    let name = &binding.name;
    let mut edge = |kind: &str, d: &ServiceDesignator| {
        let label = if kind.is_empty() { name.clone() } else { format!("{name} ({kind})") };
        designator_edges(&label, EdgeKind::Binding, d, edges);
    };
    let description = match &binding.kind {
        BindingKind::Service(d) => return edge("", d),
        BindingKind::KvNamespace(d) => return edge("kv", d),
        BindingKind::R2Bucket(d) => return edge("r2", d),
        BindingKind::Queue(d) => return edge("queue", d),
        BindingKind::AnalyticsEngine(d) => return edge("analyticsEngine", d),
        BindingKind::Hyperdrive { designator, database, .. } => {
            return edge(&format!("hyperdrive, database {database}"), designator)
        }
        BindingKind::DurableObjectNamespace { class_name, service_name } => {
            let d = ServiceDesignator {
                name: service_name.clone().unwrap_or_else(|| service.to_owned()),
                ..ServiceDesignator::default()
            };
            return edge(&format!("durable object {class_name}"), &d);
        }
        BindingKind::Text(text) => format!("text {}", preview(text)),
        BindingKind::Data(data) => format!("data ({} bytes)", data.len()),
        BindingKind::Json(json) => format!("json {}", preview_raw(json)),
        BindingKind::WasmModule(wasm) => format!("wasm module ({} bytes)", wasm.len()),
        BindingKind::FromEnvironment(var) => format!("fromEnvironment {var}"),
        BindingKind::CryptoKey(key) => format!(
            "cryptoKey ({})",
            match key.format {
                CryptoKeyFormat::Raw(_) => "raw",
                CryptoKeyFormat::Hex(_) => "hex",
                CryptoKeyFormat::Base64(_) => "base64",
                CryptoKeyFormat::Pkcs8(_) => "pkcs8",
                CryptoKeyFormat::Spki(_) => "spki",
                CryptoKeyFormat::Jwk(_) => "jwk",
            }
        ),
        BindingKind::Parameter { optional } => if *optional { "parameter (optional)" } else { "parameter" }.to_owned(),
        BindingKind::UnsafeEval => "unsafeEval".to_owned(),
        BindingKind::MemoryCache { id } => format!("memoryCache {id}"),
        BindingKind::Unsupported(field) => format!("{field} (not supported by nanod)"),
    };
    values.push(Value { name: name.clone(), description });
}

/// The longest value shown in full; longer ones are cut, since the graph is about shape.
const PREVIEW_CHARS: usize = 60;

/// A text value, quoted and escaped (one line), cut after [`PREVIEW_CHARS`].
fn preview(text: &str) -> String {
    let cut: String = text.chars().take(PREVIEW_CHARS).collect();
    let mut out = format!("{cut:?}");
    if cut.len() < text.len() {
        let _ = write!(out, "... ({} bytes)", text.len());
    }
    out
}

/// JSON as written, whitespace runs folded to one space, cut after [`PREVIEW_CHARS`].
fn preview_raw(json: &str) -> String {
    let folded = json.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = folded.chars().take(PREVIEW_CHARS).collect();
    if cut.len() < folded.len() {
        format!("{cut}... ({} bytes)", json.len())
    } else {
        cut
    }
}

/// The verdict of `policy` for each address category.
fn reach<S: AsRef<str>>(policy: &Policy, allow: &[S], deny: &[S]) -> NetworkReach {
    let allow: Vec<String> = allow.iter().map(|s| s.as_ref().to_owned()).collect();
    let deny: Vec<String> = deny.iter().map(|s| s.as_ref().to_owned()).collect();
    let mut verdicts = Vec::new();
    for &(what, class, samples) in CATEGORIES {
        let admitted = samples
            .iter()
            .filter_map(|s| s.parse::<IpAddr>().ok())
            .filter(|ip| policy.check(SocketAddr::new(*ip, 443)).is_ok())
            .count();
        let allowed_cidrs: Vec<&str> =
            allow.iter().map(String::as_str).filter(|e| cidr_class(e) == Some(class)).collect();
        let denied: Vec<&str> = deny.iter().map(String::as_str).filter(|e| entry_class(e) == Some(class)).collect();
        let except = if denied.is_empty() { String::new() } else { format!(", except deny {}", denied.join(", ")) };
        let verdict = if admitted == samples.len() {
            format!("yes{except}")
        } else if !allowed_cidrs.is_empty() {
            format!("only {}{except}", allowed_cidrs.join(", "))
        } else if admitted > 0 && !denied.is_empty() {
            format!("yes{except}")
        } else if admitted > 0 {
            // Some samples pass, no entry of this class explains which: e.g. an IPv4-only CIDR.
            "partly".to_owned()
        } else {
            "no".to_owned()
        };
        // Only the three classes that matter for SSRF are always shown.
        if class != AddressClass::Special || verdict != "no" {
            verdicts.push((what, verdict));
        }
    }
    for (what, kind) in [("unix sockets", UnixKind::Path), ("abstract unix sockets", UnixKind::Abstract)] {
        if policy.check_unix(kind).is_ok() {
            verdicts.push((what, "yes".to_owned()));
        }
    }
    NetworkReach { allow, deny, verdicts }
}

/// The class of an IP-address or CIDR entry (of its network address).
fn cidr_class(entry: &str) -> Option<AddressClass> {
    let addr = entry.split_once('/').map_or(entry, |(addr, _)| addr);
    addr.parse::<IpAddr>().ok().map(AddressClass::of)
}

/// The class a deny entry is about: keywords by name, addresses by [`cidr_class`].
fn entry_class(entry: &str) -> Option<AddressClass> {
    match entry {
        "private" => Some(AddressClass::Private),
        "local" => Some(AddressClass::Local),
        _ => cidr_class(entry),
    }
}

fn kind_name(service: &ServiceNode) -> String {
    let kind = match service.kind {
        NodeKind::Worker { .. } => "worker",
        NodeKind::Network(_) => "network",
        NodeKind::External { .. } => "external",
        NodeKind::Disk { .. } => "disk",
    };
    if service.implicit {
        format!("{kind} (implicit)")
    } else {
        kind.to_owned()
    }
}

/// The lines that describe a service itself, before its edges.
fn details(service: &ServiceNode) -> Vec<String> {
    let list = |entries: &[String]| if entries.is_empty() { "nothing".to_owned() } else { entries.join(", ") };
    match &service.kind {
        NodeKind::Worker { inherits, durable_objects } => {
            let mut lines = Vec::new();
            if let Some(base) = inherits {
                lines.push(format!("inherits {base}"));
            }
            if !durable_objects.is_empty() {
                lines.push(format!("durable object classes: {}", durable_objects.join(", ")));
            }
            lines
        }
        NodeKind::Network(reach) => {
            let mut lines = vec![format!("allow {}; deny {}", list(&reach.allow), list(&reach.deny))];
            lines.extend(reach.verdicts.iter().map(|(what, verdict)| format!("{what}: {verdict}")));
            lines
        }
        NodeKind::External { address, protocol } => {
            vec![format!("address {} ({protocol})", address.as_deref().unwrap_or("(from --external-addr)"))]
        }
        NodeKind::Disk { path, writable, allow_dotfiles } => {
            let mut line = format!(
                "path {} ({})",
                path.as_deref().unwrap_or("(from --directory-path)"),
                if *writable { "writable" } else { "read-only" }
            );
            if *allow_dotfiles {
                line.push_str(", dotfiles allowed");
            }
            vec![line]
        }
    }
}

fn socket_id(name: &str) -> String {
    format!("socket:{name}")
}

fn service_id(name: &str) -> String {
    format!("service:{name}")
}

/// A DOT quoted string: `"` and `\` escaped, newlines as `\n` (centred lines).
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(source: &str) -> Graph {
        let path = std::path::Path::new("t.capnp");
        let config = nanod_config::parse_capnp(path, source, None).unwrap();
        nanod_config::validate(&config).unwrap();
        Graph::of(&config).unwrap()
    }

    const HEAD: &str = "using Workerd = import \"/workerd/workerd.capnp\";\nconst config :Workerd.Config = (\n";

    fn network_lines(allow: &str, deny: &str) -> Vec<String> {
        let g = graph(&format!(
            "{HEAD}services = [(name = \"net\", network = (allow = [{allow}], deny = [{deny}]))],\n);\n"
        ));
        details(&g.services[0])
    }

    #[test]
    fn the_implicit_internet_reaches_public_addresses_only() {
        let g = graph(&format!(
            "{HEAD}services = [(name = \"w\", worker = (modules = [(name = \"w.js\", esModule = \"\")], compatibilityDate = \"2024-09-01\"))],\nsockets = [(name = \"http\", address = \"127.0.0.1:0\", http = (), service = \"w\")],\n);\n"
        ));
        let internet = g.services.last().unwrap();
        assert!(internet.implicit && internet.reachable);
        assert_eq!(
            details(internet),
            [
                "allow public; deny nothing",
                "public addresses: yes",
                "private networks (incl. link-local 169.254.169.254): no",
                "this machine (loopback): no",
            ]
        );
    }

    #[test]
    fn private_includes_this_machine_unless_local_is_denied() {
        let lines = network_lines("\"private\"", "");
        assert!(lines[2].ends_with(": yes"), "{lines:?}");
        assert!(lines[3].starts_with("this machine") && lines[3].ends_with(": yes"), "{lines:?}");
        let lines = network_lines("\"private\"", "\"local\"");
        assert!(lines[2].ends_with(": yes"), "{lines:?}");
        assert!(lines[3].ends_with(": no"), "{lines:?}");
    }

    #[test]
    fn explicit_addresses_and_denies_are_named() {
        let lines = network_lines("\"public\", \"10.1.0.0/16\", \"127.0.0.1\"", "");
        assert!(lines[2].ends_with(": only 10.1.0.0/16"), "{lines:?}");
        assert!(lines[3].ends_with(": only 127.0.0.1"), "{lines:?}");
        let lines = network_lines("\"network\"", "\"169.254.0.0/16\"");
        assert!(lines[2].ends_with(": yes, except deny 169.254.0.0/16"), "{lines:?}");
        assert!(lines[3].ends_with(": no"), "{lines:?}");
        assert_eq!(lines[4], "documentation and benchmarking ranges: yes");
        let lines = network_lines("\"0.0.0.0/0\"", "");
        assert!(lines[1].ends_with(": partly"), "IPv4 only: {lines:?}");
        let lines = network_lines("\"unix\"", "");
        assert_eq!(lines.last().unwrap(), "unix sockets: yes");
    }

    #[test]
    fn a_bad_allow_entry_is_an_error_at_the_service() {
        let source = format!("{HEAD}services = [(name = \"net\", network = (allow = [\"lan\"]))],\n);\n");
        let config = nanod_config::parse_capnp(std::path::Path::new("t.capnp"), &source, None).unwrap();
        let error = Graph::of(&config).unwrap_err().to_string();
        assert!(error.starts_with("t.capnp:3:"), "{error}");
        assert!(error.contains("service \"net\": network allow entry \"lan\""), "{error}");
    }

    #[test]
    fn unreachable_services_are_flagged() {
        let g = graph(&format!(
            "{HEAD}services = [(name = \"a\", external = (address = \"127.0.0.1:1\", http = ())), (name = \"files\", disk = (path = \"/srv\", writable = true))],\nsockets = [(name = \"http\", address = \"127.0.0.1:0\", http = (), service = \"a\")],\n);\n"
        ));
        assert_eq!(g.unreachable().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["files"]);
        let text = g.to_text();
        assert!(text.contains("  files: disk [unreachable from any socket]\n    path /srv (writable)\n"), "{text}");
        assert!(text.contains("  a: external\n    address 127.0.0.1:1 (http)\n"), "{text}");
        assert!(text.ends_with("\nunreachable from any socket: files\n"), "{text}");
        // No Worker, so nothing reaches the implicit internet and it is not drawn.
        assert!(!text.contains("internet"), "{text}");
    }

    #[test]
    fn dot_quotes_every_id_and_label() {
        assert_eq!(quote("a \"b\"\\c\nd"), "\"a \\\"b\\\"\\\\c\\nd\"");
        let g = graph(&format!(
            "{HEAD}services = [(name = \"w\", worker = (modules = [(name = \"w.js\", esModule = \"\")], compatibilityDate = \"2024-09-01\", bindings = [(name = \"SELF\", service = (name = \"w\", entrypoint = \"Admin\"))]))],\nsockets = [(name = \"w\", address = \"127.0.0.1:0\", http = (), service = \"w\")],\n);\n"
        ));
        let dot = g.to_dot();
        assert!(dot.contains("  \"socket:w\" -> \"service:w\";\n"), "{dot}");
        assert!(dot.contains("  \"service:w\" -> \"service:w\" [label=\"SELF :Admin\"];\n"), "{dot}");
        assert!(g.to_text().contains("    SELF -> w:Admin\n"));
    }

    #[test]
    fn a_fallback_is_an_edge_of_its_own() {
        let worker = |name: &str, bindings: &str| {
            format!("(name = \"{name}\", worker = (modules = [(name = \"w.js\", esModule = \"\")], compatibilityDate = \"2024-09-01\"{bindings}))")
        };
        let g = graph(&format!(
            "{HEAD}services = [{}, {}, {}],\nsockets = [(name = \"http\", address = \"127.0.0.1:0\", http = (), service = \"main\")],\n);\n",
            worker("main", ", bindings = [(name = \"API\", service = (name = \"api\", timeoutMs = 250, fallback = (name = \"stale\")))]"),
            worker("api", ", limits = (cpuMs = 50, subrequests = 0)"),
            worker("stale", ""),
        ));
        let text = g.to_text();
        assert!(text.contains("    API (timeout 250 ms) -> api\n    API (fallback) -> stale\n"), "{text}");
        assert!(
            text.contains(
                "  api: worker\n    globalOutbound (default) -> internet\n    limits = cpuMs 50, subrequests 0\n"
            ),
            "{text}"
        );
        assert!(g.unreachable().next().is_none(), "a fallback makes its target reachable: {text}");
        let dot = g.to_dot();
        assert!(
            dot.contains(
                "\"service:main\" -> \"service:stale\" [label=\"API (fallback)\", style=dashed, color=orange];"
            ),
            "{dot}"
        );
    }
}

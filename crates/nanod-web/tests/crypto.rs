//! Web Crypto (`crypto`, `crypto.subtle`, `CryptoKey`) through the JS API in an isolate.
//!
//! Each test runs a table of named async cases and compares `name => result` lines with the
//! output of the same script under workerd (`workerd serve`, the version in `bench/`), which is
//! also Node 20's output except where a test's comment says otherwise. Results are hex for
//! ArrayBuffers, JSON for keys and objects, `[DOMException ]Name: message` for errors.

use nanod_web::testing::{check_expressions, run_js};

/// Helpers shared by every case table (also used verbatim to produce the expectations).
const PRELUDE: &str = r##"const enc = (s) => new TextEncoder().encode(s);
const hex = (b) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");
const fromHex = (h) => new Uint8Array((h.match(/../g) || []).map((x) => parseInt(x, 16)));
const fill = (n, byte) => new Uint8Array(n).fill(byte);
const S = crypto.subtle;
const hmacKey = (bytes, hash, usages = ["sign", "verify"], extra = {}) =>
  S.importKey("raw", bytes, { name: "HMAC", hash, ...extra }, true, usages);
function show(v) {
  if (v instanceof ArrayBuffer) return hex(v);
  if (v instanceof CryptoKey) return JSON.stringify({ type: v.type, extractable: v.extractable, algorithm: v.algorithm, usages: v.usages });
  if (v && typeof v === "object") return JSON.stringify(v);
  return String(v);
}
async function run(cases) {
  const out = [];
  for (const [name, fn] of Object.entries(cases)) {
    let r;
    try { r = show(await fn()); } catch (e) { r = (e instanceof DOMException ? "DOMException " : "") + e.name + ": " + e.message; }
    out.push(name + " => " + r);
  }
  return out.join("\n");
}
async function signAll(hash, cases) {
  const out = [];
  for (const [keyBytes, data] of cases) {
    const key = await hmacKey(keyBytes, hash);
    const mac = await S.sign("HMAC", key, data);
    const ok = await S.verify("HMAC", key, mac, data);
    out.push(hex(mac) + (ok ? "" : " (verify failed)"));
  }
  return out.join(" ");
}
function all(hash) {
  return signAll(hash, [
    [fill(20, 0x0b), enc("Hi There")],
    [enc("Jefe"), enc("what do ya want for nothing?")],
    [fill(20, 0xaa), fill(50, 0xdd)],
    [fromHex("0102030405060708090a0b0c0d0e0f10111213141516171819"), fill(50, 0xcd)],
    [fill(131, 0xaa), enc("Test Using Larger Than Block-Size Key - Hash Key First")],
    [fill(131, 0xaa), enc("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.")],
  ]);
}
"##;

/// Runs `cases` (the body of an object literal `name: () => value-or-promise`) and compares
/// each `name => result` line with `expected`.
fn check(cases: &str, expected: &str) {
    let script = format!(
        "{PRELUDE}\nrun({{\n{cases}\n}}).then((s) => {{ globalThis.result = s; }}, (e) => {{ globalThis.result = 'FAILED ' + e; }});"
    );
    let got = run_js(&script);
    let got: Vec<&str> = got.lines().collect();
    let want: Vec<&str> = expected.trim().lines().collect();
    for (got, want) in got.iter().zip(&want) {
        assert_eq!(got, want);
    }
    assert_eq!(got.len(), want.len(), "got:\n{}", got.join("\n"));
}

/// SHA-1/256/384/512 on FIPS 180-2 vectors ("abc", two-block messages, a million "a"), name forms and every BufferSource kind. Node 20 and workerd agree.
#[test]
fn digest_fips180_vectors() {
    check(
        r##"
sha1: () => S.digest("SHA-1", enc("abc")),
sha256: () => S.digest("SHA-256", enc("abc")),
sha384: () => S.digest("SHA-384", enc("abc")),
sha512: () => S.digest("SHA-512", enc("abc")),
sha1_2block: () => S.digest("SHA-1", enc("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
sha256_2block: () => S.digest("SHA-256", enc("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
sha512_2block: () => S.digest("SHA-512", enc("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")),
sha256_empty: () => S.digest("SHA-256", new ArrayBuffer(0)),
sha256_million_a: () => S.digest("SHA-256", fill(1000000, 0x61)),
lowercase: () => S.digest("sha-384", enc("abc")),
dictionary: () => S.digest({ name: "Sha-1" }, enc("abc")),
data_view: () => S.digest("SHA-256", new DataView(enc("xabcx").buffer, 1, 3)),
subarray: () => S.digest("SHA-1", enc("xxabc").subarray(2)),
uint16: () => S.digest("SHA-1", new Uint16Array([1, 2])),
is_array_buffer: () => S.digest("SHA-256", enc("abc")).then((r) => r instanceof ArrayBuffer),
is_promise: () => S.digest("SHA-256", enc("abc")) instanceof Promise,
"##,
        r##"
sha1 => a9993e364706816aba3e25717850c26c9cd0d89d
sha256 => ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
sha384 => cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7
sha512 => ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f
sha1_2block => 84983e441c3bd26ebaae4aa1f95129e5e54670f1
sha256_2block => 248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1
sha512_2block => 8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909
sha256_empty => e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
sha256_million_a => cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0
lowercase => cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7
dictionary => a9993e364706816aba3e25717850c26c9cd0d89d
data_view => ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
subarray => a9993e364706816aba3e25717850c26c9cd0d89d
uint16 => 13956061322e116317ea11972afb3262b3ef978a
is_array_buffer => true
is_promise => true
"##,
    );
}

/// MD5 digests (RFC 1321 vectors): workerd supports MD5, Node 20's WebCrypto rejects it (NotSupportedError).
#[test]
fn digest_md5_like_workerd() {
    check(
        r##"
md5: () => S.digest("MD5", enc("abc")),
md5_lowercase: () => S.digest("md5", enc("message digest")),
md5_empty: () => S.digest("MD5", new Uint8Array(0)),
"##,
        r##"
md5 => 900150983cd24fb0d6963f7d28e17f72
md5_lowercase => f96b697d7cb7938d525a2f31aaf161d0
md5_empty => d41d8cd98f00b204e9800998ecf8427e
"##,
    );
}

/// HMAC: RFC 4231 test cases 1-4, 6, 7 for SHA-256/384/512, RFC 2202 cases 1-7 for SHA-1 (full-length MACs), each verified too. Node 20 and workerd agree.
#[test]
fn hmac_rfc4231_and_rfc2202() {
    check(
        r##"
rfc4231_sha256: () => all("SHA-256"),
rfc4231_sha384: () => all("SHA-384"),
rfc4231_sha512: () => all("SHA-512"),
rfc2202_sha1: async () => {
  const cases = [
    [fill(20, 0x0b), enc("Hi There")],
    [enc("Jefe"), enc("what do ya want for nothing?")],
    [fill(20, 0xaa), fill(50, 0xdd)],
    [fromHex("0102030405060708090a0b0c0d0e0f10111213141516171819"), fill(50, 0xcd)],
    [fill(20, 0x0c), enc("Test With Truncation")],
    [fill(80, 0xaa), enc("Test Using Larger Than Block-Size Key - Hash Key First")],
    [fill(80, 0xaa), enc("Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data")],
  ];
  return signAll("SHA-1", cases);
},
verify_tampered: async () => {
  const key = await hmacKey(enc("key"), "SHA-256");
  const mac = new Uint8Array(await S.sign("HMAC", key, enc("msg")));
  const ok = await S.verify("HMAC", key, mac, enc("msg"));
  const wrongData = await S.verify("HMAC", key, mac, enc("msh"));
  mac[31] ^= 0x80;
  const flipped = await S.verify("HMAC", key, mac, enc("msg"));
  const short = await S.verify("HMAC", key, mac.subarray(0, 16), enc("msg"));
  const empty = await S.verify("HMAC", key, new Uint8Array(0), enc("msg"));
  return [ok, wrongData, flipped, short, empty].join();
},
sign_name_forms: async () => {
  const key = await hmacKey(enc("key"), { name: "sha-1" });
  const a = await S.sign("hmac", key, enc("The quick brown fox jumps over the lazy dog"));
  const b = await S.sign({ name: "HMAC" }, key, enc("The quick brown fox jumps over the lazy dog"));
  return hex(a) + " " + (hex(a) === hex(b));
},
"##,
        r##"
rfc4231_sha256 => b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7 5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843 773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe 82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b 60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54 9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2
rfc4231_sha384 => afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6 af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649 88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27 3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb 4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952 6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e
rfc4231_sha512 => 87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854 164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737 fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd 80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598 e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58
rfc2202_sha1 => b617318655057264e28bc0b6fb378c8ef146be00 effcdf6ae5eb2fa2d27416d5f184df9c259a7c79 125d7342b9ac11cd91a39af48aa17b4f63f175d3 4c9007f4026250c6bc8414f9bf50c86c2d7235da 4c1a03424b55e07fe7f27be1d58bb9324a9a5a04 aa4ae5e15272d00e95705637ce8a3b55ed402112 e8e99d0f45237d786d6bbaa7965c7808bbff1a91
verify_tampered => true,false,false,false,false
sign_name_forms => de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9 true
"##,
    );
}

/// HMAC-MD5 (RFC 2202 cases 1-2): workerd only; Node 20 rejects MD5.
#[test]
fn hmac_md5_like_workerd() {
    check(
        r##"
md5: async () => signAll("MD5", [[fill(16, 0x0b), enc("Hi There")], [enc("Jefe"), enc("what do ya want for nothing?")]]),
md5_key: () => hmacKey(enc("key"), "MD5"),
"##,
        r##"
md5 => 9294727a3638bb1c13f48ef8158bfc9d 750c783e6ab0b503eaa86e310a5db738
md5_key => {"type":"secret","extractable":true,"algorithm":{"name":"HMAC","hash":{"name":"MD5"},"length":24},"usages":["sign","verify"]}
"##,
    );
}

/// Key objects, generation, raw/JWK import and export. workerd's output; Node 20 differs where noted in `keys_node_differences`.
#[test]
fn keys_import_generate_export() {
    check(
        r##"
raw_import: () => hmacKey(enc("key"), "SHA-256"),
hash_dictionary: () => hmacKey(enc("key"), { name: "sha-512" }, ["verify"]),
usages_canonical: () => hmacKey(enc("key"), "SHA-256", ["verify", "sign", "verify"]),
explicit_length: () => hmacKey(enc("key"), "SHA-1", ["sign"], { length: 20 }),
length_masks_bits: async () => hex(await S.exportKey("raw", await hmacKey(fromHex("ffff"), "SHA-256", ["sign"], { length: 12 }))),
masked_key_signs_same: async () => {
  const a = await S.sign("HMAC", await hmacKey(fromHex("ffff"), "SHA-256", ["sign"], { length: 12 }), enc("m"));
  const b = await S.sign("HMAC", await hmacKey(fromHex("fff0"), "SHA-256", ["sign"]), enc("m"));
  return hex(a) === hex(b);
},
non_extractable: () => S.importKey("raw", enc("key"), { name: "HMAC", hash: "SHA-1" }, false, ["sign"]),
instance: async () => {
  const k = await hmacKey(enc("k"), "SHA-256");
  return [k instanceof CryptoKey, k.algorithm === k.algorithm, k.usages === k.usages, Object.keys(k).join("|")].join();
},
generate_default: async () => {
  const k = await S.generateKey({ name: "HMAC", hash: "SHA-256" }, true, ["sign"]);
  return show(k) + " " + (await S.exportKey("raw", k)).byteLength;
},
generate_sha512: async () => {
  const k = await S.generateKey({ name: "HMAC", hash: "SHA-512" }, false, ["verify", "sign"]);
  return show(k);
},
generate_length: async () => {
  const k = await S.generateKey({ name: "HMAC", hash: "SHA-384", length: 13 }, true, ["sign"]);
  const raw = new Uint8Array(await S.exportKey("raw", k));
  return k.algorithm.length + " " + raw.length + " " + (raw[1] & 0x07);
},
generate_differs: async () => {
  const a = await S.generateKey({ name: "HMAC", hash: "SHA-256" }, true, ["sign"]);
  const b = await S.generateKey({ name: "HMAC", hash: "SHA-256" }, true, ["sign"]);
  return hex(await S.exportKey("raw", a)) !== hex(await S.exportKey("raw", b));
},
generated_signs: async () => {
  const k = await S.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  const mac = await S.sign("HMAC", k, enc("x"));
  return mac.byteLength + " " + (await S.verify("HMAC", k, mac, enc("x")));
},
jwk_import: () => S.importKey("jwk", { kty: "oct", k: "a2V5", alg: "HS256" }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
jwk_round_trip: async () => {
  const jwk = { kty: "oct", k: "AAECAwQFBgcICQ-_", alg: "HS1", key_ops: ["verify", "sign"], ext: true };
  const key = await S.importKey("jwk", jwk, { name: "HMAC", hash: "SHA-1" }, true, ["verify", "sign"]);
  const out = await S.exportKey("jwk", key);
  return JSON.stringify(out) + " " + Object.keys(out).join();
},
jwk_export_each_hash: async () => {
  const out = [];
  for (const hash of ["SHA-1", "SHA-256", "SHA-384", "SHA-512"]) {
    out.push((await S.exportKey("jwk", await hmacKey(fromHex("fbff10"), hash, ["verify"]))).alg);
  }
  return out.join() + " " + (await S.exportKey("jwk", await hmacKey(fromHex("fbff"), "SHA-256"))).k;
},
jwk_raw_agree: async () => {
  const a = await S.importKey("jwk", { kty: "oct", k: "c2VjcmV0" }, { name: "HMAC", hash: "SHA-384" }, false, ["sign"]);
  const b = await hmacKey(enc("secret"), "SHA-384", ["sign"]);
  return hex(await S.sign("HMAC", a, enc("m"))) === hex(await S.sign("HMAC", b, enc("m")));
},
export_raw: async () => S.exportKey("raw", await hmacKey(fromHex("00ff10"), "SHA-256")),
"##,
        r##"
raw_import => {"type":"secret","extractable":true,"algorithm":{"name":"HMAC","hash":{"name":"SHA-256"},"length":24},"usages":["sign","verify"]}
hash_dictionary => {"type":"secret","extractable":true,"algorithm":{"name":"HMAC","hash":{"name":"SHA-512"},"length":24},"usages":["verify"]}
usages_canonical => {"type":"secret","extractable":true,"algorithm":{"name":"HMAC","hash":{"name":"SHA-256"},"length":24},"usages":["sign","verify"]}
explicit_length => {"type":"secret","extractable":true,"algorithm":{"name":"HMAC","hash":{"name":"SHA-1"},"length":20},"usages":["sign"]}
length_masks_bits => fff0
masked_key_signs_same => true
non_extractable => {"type":"secret","extractable":false,"algorithm":{"name":"HMAC","hash":{"name":"SHA-1"},"length":24},"usages":["sign"]}
instance => true,true,true,usages|algorithm|extractable|type
generate_default => {"type":"secret","extractable":true,"algorithm":{"name":"HMAC","hash":{"name":"SHA-256"},"length":512},"usages":["sign"]} 64
generate_sha512 => {"type":"secret","extractable":false,"algorithm":{"name":"HMAC","hash":{"name":"SHA-512"},"length":1024},"usages":["sign","verify"]}
generate_length => 13 2 0
generate_differs => true
generated_signs => 32 true
jwk_import => {"type":"secret","extractable":true,"algorithm":{"name":"HMAC","hash":{"name":"SHA-256"},"length":24},"usages":["sign"]}
jwk_round_trip => {"kty":"oct","key_ops":["sign","verify"],"alg":"HS1","ext":true,"k":"AAECAwQFBgcICQ-_"} kty,key_ops,alg,ext,k
jwk_export_each_hash => HS1,HS256,HS384,HS512 -_8
jwk_raw_agree => true
export_raw => 00ff10
"##,
    );
}

/// Error names and messages, as workerd 1.x gives them. Node 20 has the same error names for most cases but other messages, and is stricter on JWK `key_ops`/`use`/`k` and non-8-multiple lengths.
#[test]
fn errors_match_workerd() {
    check(
        r##"
jwk_lenient_base64: () => S.importKey("jwk", { kty: "oct", k: "a2+5" }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
jwk_padded_base64: () => S.importKey("jwk", { kty: "oct", k: "a2V5YQ==" }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
jwk_key_ops_unchecked: () => S.importKey("jwk", { kty: "oct", k: "a2V5", key_ops: ["verify"] }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
jwk_use_unchecked: () => S.importKey("jwk", { kty: "oct", k: "a2V5", use: "enc" }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
invalid_length_raw: () => hmacKey(enc("key"), "SHA-1", ["verify"], { length: 16 }),
empty_raw_key: () => hmacKey(new Uint8Array(0), "SHA-256"),
empty_jwk_key: () => S.importKey("jwk", { kty: "oct", k: "" }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
jwk_bad_kty: () => S.importKey("jwk", { kty: "RSA", k: "a2V5" }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
jwk_no_k: () => S.importKey("jwk", { kty: "oct" }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
jwk_bad_k: () => S.importKey("jwk", { kty: "oct", k: "a!V5" }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
jwk_bad_padding: () => S.importKey("jwk", { kty: "oct", k: "a2V5=" }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
jwk_alg_mismatch: () => S.importKey("jwk", { kty: "oct", k: "a2V5", alg: "HS512" }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
jwk_ext_false: () => S.importKey("jwk", { kty: "oct", k: "a2V5", ext: false }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
jwk_key_ops_not_array: () => S.importKey("jwk", { kty: "oct", k: "a2V5", key_ops: "sign" }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
jwk_given_buffer: () => S.importKey("jwk", enc("x"), { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
raw_given_object: () => S.importKey("raw", { kty: "oct", k: "a2V5" }, { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
key_data_string: () => S.importKey("raw", "key", { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
unknown_format: () => S.importKey("foo", enc("key"), { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
spki_hmac: () => S.importKey("spki", enc("key"), { name: "HMAC", hash: "SHA-256" }, true, ["sign"]),
unknown_algorithm: () => S.importKey("raw", enc("key"), { name: "FOO" }, true, ["sign"]),
nameless_algorithm: () => S.importKey("raw", enc("key"), { hash: "SHA-256" }, true, ["sign"]),
missing_hash: () => S.importKey("raw", enc("key"), "HMAC", true, ["sign"]),
unknown_hash: () => hmacKey(enc("key"), "SHA-224"),
invalid_usage: () => hmacKey(enc("key"), "SHA-256", ["encrypt"]),
bogus_usage: () => hmacKey(enc("key"), "SHA-256", ["bogus"]),
empty_usages: () => hmacKey(enc("key"), "SHA-256", []),
usages_not_array: () => S.importKey("raw", enc("k"), { name: "HMAC", hash: "SHA-256" }, true, "sign"),
invalid_usage_before_length: () => S.importKey("raw", new Uint8Array(0), { name: "HMAC", hash: "SHA-256" }, true, ["encrypt"]),
length_before_empty_usages: () => S.importKey("raw", new Uint8Array(0), { name: "HMAC", hash: "SHA-256" }, true, []),
generate_unknown: () => S.generateKey({ name: "FOO" }, true, ["sign"]),
generate_zero_length: () => S.generateKey({ name: "HMAC", hash: "SHA-512", length: 0 }, true, ["sign"]),
generate_length_range: () => S.generateKey({ name: "HMAC", hash: "SHA-256", length: 2 ** 32 }, true, ["sign"]),
generate_empty_usages: () => S.generateKey({ name: "HMAC", hash: "SHA-512" }, true, []),
generate_invalid_usage: () => S.generateKey({ name: "HMAC", hash: "SHA-512" }, true, ["encrypt"]),
generate_missing_hash: () => S.generateKey({ name: "HMAC" }, true, ["sign"]),
export_non_extractable: async () => S.exportKey("raw", await S.importKey("raw", enc("k"), { name: "HMAC", hash: "SHA-1" }, false, ["sign"])),
export_spki: async () => S.exportKey("spki", await hmacKey(enc("k"), "SHA-256")),
export_unknown_format: async () => S.exportKey("foo", await hmacKey(enc("k"), "SHA-256")),
export_not_a_key: () => S.exportKey("raw", {}),
export_md5_jwk: async () => S.exportKey("jwk", await hmacKey(enc("k"), "MD5")),
sign_without_usage: async () => S.sign("HMAC", await hmacKey(enc("k"), "SHA-256", ["verify"]), enc("x")),
verify_without_usage: async () => S.verify("HMAC", await hmacKey(enc("k"), "SHA-256", ["sign"]), new Uint8Array(32), enc("x")),
sign_other_algorithm: async () => S.sign({ name: "ECDSA", hash: "SHA-256" }, await hmacKey(enc("k"), "SHA-256"), enc("x")),
sign_unknown_algorithm: async () => S.sign("FOO", await hmacKey(enc("k"), "SHA-256"), enc("x")),
sign_not_a_key: () => S.sign("HMAC", {}, enc("x")),
sign_string_data: async () => S.sign("HMAC", await hmacKey(enc("k"), "SHA-256"), "x"),
verify_string_signature: async () => S.verify("HMAC", await hmacKey(enc("k"), "SHA-256"), "abc", enc("m")),
encrypt_with_hmac_key: async () => S.encrypt({ name: "AES-GCM", iv: new Uint8Array(12) }, await hmacKey(enc("k"), "SHA-256"), enc("x")),
encrypt_hmac_usage: async () => S.encrypt("HMAC", await hmacKey(enc("k"), "SHA-256"), enc("x")),
decrypt_hmac_usage: async () => S.decrypt("HMAC", await hmacKey(enc("k"), "SHA-256"), enc("x")),
derive_bits_other: async () => S.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: enc("s"), iterations: 1 }, await hmacKey(enc("k"), "SHA-256"), 128),
wrap_key_other: async () => { const k = await hmacKey(enc("k"), "SHA-256"); return S.wrapKey("raw", k, k, "AES-KW"); },
digest_unknown: () => S.digest("SHA-224", enc("abc")),
digest_hmac: () => S.digest("HMAC", enc("abc")),
digest_nameless: () => S.digest({}, enc("abc")),
digest_string_data: () => S.digest("SHA-256", "abc"),
digest_no_arguments: () => S.digest(),
digest_no_data: () => S.digest("SHA-256"),
rejects_not_throws: () => { const p = S.digest("nope", 1); return p.then(() => "resolved", (e) => "rejected " + e.name); },
timing_safe_equal: () => [S.timingSafeEqual(enc("abc"), enc("abc")), S.timingSafeEqual(enc("abc"), enc("abd")), S.timingSafeEqual(enc("abc").buffer, enc("abc"))].join(),
timing_safe_equal_length: () => S.timingSafeEqual(enc("abc"), enc("ab")),
new_subtle: () => new SubtleCrypto(),
new_key: () => new CryptoKey(),
get_random_float: () => crypto.getRandomValues(new Float32Array(4)),
get_random_data_view: () => crypto.getRandomValues(new DataView(new ArrayBuffer(4))),
get_random_quota: () => crypto.getRandomValues(new Uint8Array(65537)),
get_random_quota_u32: () => crypto.getRandomValues(new Uint32Array(16385)),
get_random_number: () => crypto.getRandomValues(123),
get_random_array_buffer: () => crypto.getRandomValues(new ArrayBuffer(4)),
get_random_missing: () => crypto.getRandomValues(),
"##,
        r##"
jwk_lenient_base64 => {"type":"secret","extractable":true,"algorithm":{"name":"HMAC","hash":{"name":"SHA-256"},"length":24},"usages":["sign"]}
jwk_padded_base64 => {"type":"secret","extractable":true,"algorithm":{"name":"HMAC","hash":{"name":"SHA-256"},"length":32},"usages":["sign"]}
jwk_key_ops_unchecked => {"type":"secret","extractable":true,"algorithm":{"name":"HMAC","hash":{"name":"SHA-256"},"length":24},"usages":["sign"]}
jwk_use_unchecked => {"type":"secret","extractable":true,"algorithm":{"name":"HMAC","hash":{"name":"SHA-256"},"length":24},"usages":["sign"]}
invalid_length_raw => DOMException DataError: Imported HMAC key length (16) must be a non-zero value up to 7 bits less than, and no greater than, the bit length of the raw key data (24).
empty_raw_key => DOMException DataError: Imported HMAC key length (0) must be a non-zero value up to 7 bits less than, and no greater than, the bit length of the raw key data (0).
empty_jwk_key => DOMException DataError: Imported HMAC key length (0) must be a non-zero value up to 7 bits less than, and no greater than, the bit length of the raw key data (0).
jwk_bad_kty => DOMException DataError: HMAC "jwk" key import requires a JSON Web Key with Key Type parameter ("kty") equal to "oct" (encountered "RSA").
jwk_no_k => DOMException DataError: HMAC "jwk" key import requires a base64Url encoding of the key
jwk_bad_k => DOMException DataError: HMAC "jwk" key import requires a base64Url encoding of the key
jwk_bad_padding => DOMException DataError: HMAC "jwk" key import requires a base64Url encoding of the key
jwk_alg_mismatch => DOMException DataError: HMAC "jwk" key import specifies "alg" that is incompatible with the hash name (encountered "HS512", expected "HS256").
jwk_ext_false => DOMException DataError: JWK ext field for "HMAC" is set to false but extractable is true
jwk_key_ops_not_array => TypeError: Incorrect type for the 'key_ops' field on 'JsonWebKey': the provided value is not of type 'Array'.
jwk_given_buffer => TypeError: Import data provided for "jwk" import format must be a JsonWebKey.
raw_given_object => TypeError: Import data provided for buffer-based import formats must be a buffer source.
key_data_string => TypeError: Failed to execute 'importKey' on 'SubtleCrypto': parameter 2 is not of type 'BufferSource or JsonWebKey'.
unknown_format => DOMException NotSupportedError: Unrecognized key import format "foo".
spki_hmac => DOMException NotSupportedError: Unrecognized key import format "spki".
unknown_algorithm => DOMException NotSupportedError: Unrecognized key import algorithm "FOO" requested.
nameless_algorithm => DOMException NotSupportedError: Unrecognized key import algorithm "undefined" requested.
missing_hash => TypeError: Missing field "hash" in "algorithm".
unknown_hash => DOMException NotSupportedError: Unrecognized or unimplemented digest algorithm requested.
invalid_usage => DOMException SyntaxError: Attempt to import secret HMAC key with invalid usage "encrypt".
bogus_usage => DOMException SyntaxError: Attempt to import secret HMAC key with invalid usage "bogus".
empty_usages => DOMException SyntaxError: Secret/private CryptoKeys must have at least one usage.
usages_not_array => TypeError: Failed to execute 'importKey' on 'SubtleCrypto': parameter 5 is not of type 'Array'.
invalid_usage_before_length => DOMException SyntaxError: Attempt to import secret HMAC key with invalid usage "encrypt".
length_before_empty_usages => DOMException DataError: Imported HMAC key length (0) must be a non-zero value up to 7 bits less than, and no greater than, the bit length of the raw key data (0).
generate_unknown => DOMException NotSupportedError: Unrecognized key generation algorithm "FOO" requested.
generate_zero_length => DOMException OperationError: HMAC key length must be a non-zero unsigned long integer (requested 0).
generate_length_range => TypeError: Value out of range. Must be between -2147483648 and 2147483647 (inclusive).
generate_empty_usages => DOMException SyntaxError: Secret/private CryptoKeys must have at least one usage.
generate_invalid_usage => DOMException SyntaxError: Attempt to generate HMAC key with invalid usage "encrypt".
generate_missing_hash => TypeError: Missing field "hash" in "algorithm".
export_non_extractable => DOMException InvalidAccessError: Attempt to export non-extractable HMAC key.
export_spki => DOMException NotSupportedError: Unimplemented key export format "spki".
export_unknown_format => DOMException NotSupportedError: Unimplemented key export format "foo".
export_not_a_key => TypeError: Failed to execute 'exportKey' on 'SubtleCrypto': parameter 2 is not of type 'CryptoKey'.
export_md5_jwk => DOMException NotSupportedError: Unimplemented JWK key export format for key algorithm "MD5".
sign_without_usage => DOMException InvalidAccessError: Requested key usage "sign" does not match any usage listed in this CryptoKey.
verify_without_usage => DOMException InvalidAccessError: Requested key usage "verify" does not match any usage listed in this CryptoKey.
sign_other_algorithm => DOMException InvalidAccessError: Requested algorithm "ECDSA" does not match this CryptoKey's algorithm "HMAC".
sign_unknown_algorithm => DOMException InvalidAccessError: Requested algorithm "FOO" does not match this CryptoKey's algorithm "HMAC".
sign_not_a_key => TypeError: Failed to execute 'sign' on 'SubtleCrypto': parameter 2 is not of type 'CryptoKey'.
sign_string_data => TypeError: Failed to execute 'sign' on 'SubtleCrypto': parameter 3 is not of type 'BufferSource'.
verify_string_signature => TypeError: Failed to execute 'verify' on 'SubtleCrypto': parameter 3 is not of type 'BufferSource'.
encrypt_with_hmac_key => DOMException InvalidAccessError: Requested algorithm "AES-GCM" does not match this CryptoKey's algorithm "HMAC".
encrypt_hmac_usage => DOMException InvalidAccessError: Requested key usage "encrypt" does not match any usage listed in this CryptoKey.
decrypt_hmac_usage => DOMException InvalidAccessError: Requested key usage "decrypt" does not match any usage listed in this CryptoKey.
derive_bits_other => DOMException InvalidAccessError: Requested algorithm "PBKDF2" does not match this CryptoKey's algorithm "HMAC".
wrap_key_other => DOMException InvalidAccessError: Requested algorithm "AES-KW" does not match this CryptoKey's algorithm "HMAC".
digest_unknown => DOMException NotSupportedError: Unrecognized or unimplemented digest algorithm requested.
digest_hmac => DOMException NotSupportedError: Unrecognized or unimplemented digest algorithm requested.
digest_nameless => DOMException NotSupportedError: Unrecognized or unimplemented digest algorithm requested.
digest_string_data => TypeError: Failed to execute 'digest' on 'SubtleCrypto': parameter 2 is not of type 'BufferSource'.
digest_no_arguments => TypeError: Failed to execute 'digest' on 'SubtleCrypto': parameter 1 is not of type 'string or HashAlgorithm'.
digest_no_data => TypeError: Failed to execute 'digest' on 'SubtleCrypto': parameter 2 is not of type 'BufferSource'.
rejects_not_throws => rejected TypeError
timing_safe_equal => true,false,true
timing_safe_equal_length => TypeError: Input buffers must have the same byte length.
new_subtle => TypeError: Illegal constructor
new_key => TypeError: Illegal constructor
get_random_float => DOMException TypeMismatchError: ArrayBufferView argument to getRandomValues() must be an integer-typed view.
get_random_data_view => DOMException TypeMismatchError: ArrayBufferView argument to getRandomValues() must be an integer-typed view.
get_random_quota => DOMException QuotaExceededError: getRandomValues() only accepts buffers of size <= 64K but provided 65537 bytes.
get_random_quota_u32 => DOMException QuotaExceededError: getRandomValues() only accepts buffers of size <= 64K but provided 65540 bytes.
get_random_number => TypeError: Failed to execute 'getRandomValues' on 'Crypto': parameter 1 is not of type 'ArrayBufferView'.
get_random_array_buffer => TypeError: Failed to execute 'getRandomValues' on 'Crypto': parameter 1 is not of type 'ArrayBufferView'.
get_random_missing => TypeError: Failed to execute 'getRandomValues' on 'Crypto': parameter 1 is not of type 'ArrayBufferView'.
"##,
    );
}

/// getRandomValues/randomUUID: statistical sanity only (the values are random). Node 20 and workerd agree.
#[test]
fn random_values() {
    check(
        r##"
same_array: () => { const a = new Uint8Array(8); return crypto.getRandomValues(a) === a; },
not_all_zero: () => crypto.getRandomValues(new Uint8Array(64)).some((b) => b !== 0),
two_calls_differ: () => hex(crypto.getRandomValues(new Uint8Array(32))) !== hex(crypto.getRandomValues(new Uint8Array(32))),
byte_spread: () => { const a = crypto.getRandomValues(new Uint8Array(65536)); const seen = new Set(a); return seen.size === 256; },
int_types: () => [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array].map((T) => crypto.getRandomValues(new T(2)).constructor.name).join(),
negative_int8: () => crypto.getRandomValues(new Int8Array(4096)).some((x) => x < 0),
bigint_items: () => typeof crypto.getRandomValues(new BigUint64Array(1))[0],
max_quota: () => crypto.getRandomValues(new Uint8Array(65536)).length,
subarray_in_place: () => { const a = new Uint8Array(64); crypto.getRandomValues(a.subarray(16, 48)); return a.slice(0, 16).every((b) => b === 0) && a.slice(48).every((b) => b === 0) && a.slice(16, 48).some((b) => b !== 0); },
empty: () => crypto.getRandomValues(new Uint8Array(0)).length,
uuid_format: () => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID()),
uuid_differs: () => crypto.randomUUID() !== crypto.randomUUID(),
subtle_same: () => crypto.subtle === crypto.subtle && crypto.subtle instanceof SubtleCrypto,
"##,
        r##"
same_array => true
not_all_zero => true
two_calls_differ => true
byte_spread => true
int_types => Int8Array,Uint8Array,Uint8ClampedArray,Int16Array,Uint16Array,Int32Array,Uint32Array,BigInt64Array,BigUint64Array
negative_int8 => true
bigint_items => bigint
max_quota => 65536
subarray_in_place => true
empty => 0
uuid_format => true
uuid_differs => true
subtle_same => true
"##,
    );
}

/// Where Node 20 gives other results for the `keys_import_generate_export` cases: it keeps
/// usages as given (`["verify","sign","verify"]`), rejects a `length` that is not the key's
/// full bit length ("Invalid key length"), puts `length` before `hash` in `algorithm`, defines
/// key attributes as prototype getters, and orders JWK members `key_ops,ext,kty,k,alg`. nanod
/// follows workerd; this pins the workerd-only behaviours in sync form.
#[test]
fn keys_node_differences() {
    check(
        r##"
canonical_usages: async () => (await hmacKey(enc("k"), "SHA-256", ["verify", "sign", "verify"])).usages.join(),
partial_byte_length: async () => (await hmacKey(enc("key"), "SHA-1", ["sign"], { length: 17 })).algorithm.length,
own_attributes: async () => Object.keys(await hmacKey(enc("k"), "SHA-256")).join(),
"##,
        r##"
canonical_usages => sign,verify
partial_byte_length => 17
own_attributes => usages,algorithm,extractable,type
"##,
    );
}

/// The globals' shape: constructors that cannot be called, the same `subtle` every time.
#[test]
fn globals() {
    check_expressions(&[
        ("typeof crypto", "object"),
        ("typeof crypto.subtle", "object"),
        ("typeof SubtleCrypto + typeof CryptoKey", "functionfunction"),
        ("crypto.subtle === crypto.subtle", "true"),
        ("crypto.subtle instanceof SubtleCrypto", "true"),
        ("new SubtleCrypto()", "threw TypeError"),
        ("new CryptoKey()", "threw TypeError"),
        ("new crypto.constructor()", "threw TypeError"),
        ("crypto.getRandomValues.call({}, new Uint8Array(1))", "threw TypeError"),
        ("crypto.subtle.digest.call({}, 'SHA-1', new Uint8Array(1))", "threw TypeError"),
        ("crypto.getRandomValues(new Float64Array(1))", "threw TypeMismatchError"),
        ("crypto.getRandomValues(new Int32Array(16385))", "threw QuotaExceededError"),
        ("crypto.getRandomValues('abc')", "threw TypeError"),
        ("crypto.randomUUID().length", "36"),
        ("crypto.randomUUID()[14]", "4"),
        ("crypto.subtle.digest('SHA-1', new Uint8Array(1)) instanceof Promise", "true"),
        ("crypto.subtle.importKey() instanceof Promise", "true"),
    ]);
}

//! TextEncoder / TextDecoder through the real JS API in an isolate, against Node 20.
//!
//! Each case is a JS expression; the expected text is what Node 20 prints for
//! `String(expression)` (errors as `threw <name>`), except where a comment explains why the
//! Encoding Standard answer differs from Node's. Covers labels, `fatal`, `ignoreBOM`, streaming
//! with multi-byte characters split across chunks, astral characters, `encodeInto` with small
//! buffers and views, lone surrogates, and every `BufferSource` shape.

use nanod_web::testing::check_expressions as check;

#[test]
fn text_encoder() {
    check(&[
            (r##"new TextEncoder().encode().length + "," + new TextEncoder().encode(undefined).length + "," + new TextEncoder().encode("").length"##, "0,0,0"),
            (r##"new TextEncoder().encode(null).join()"##, "110,117,108,108"),
            (r##"new TextEncoder().encode(123).join()"##, "49,50,51"),
            (r##"new TextEncoder().encode("€𝌆é").join()"##, "226,130,172,240,157,140,134,195,169"),
            (r##"new TextEncoder().encode("a\uD800b").join()"##, "97,239,191,189,98"),
            (r##"new TextEncoder().encode("\uDC00\uD800").join()"##, "239,191,189,239,191,189"),
            (r##"new TextEncoder().encode("\uD83D\uDCA9\uD83D").join()"##, "240,159,146,169,239,191,189"),
            (r##"new TextEncoder().encode("\0").join()"##, "0"),
            (r##"new TextEncoder().encode("x") instanceof Uint8Array"##, "true"),
            (r##"[0, 1, 2, 3, 4, 5, 6].map((n) => { const b = new Uint8Array(n); const r = new TextEncoder().encodeInto("a€b", b); return JSON.stringify(r) + b.join(" "); }).join("|")"##, "{\"read\":0,\"written\":0}|{\"read\":1,\"written\":1}97|{\"read\":1,\"written\":1}97 0|{\"read\":1,\"written\":1}97 0 0|{\"read\":2,\"written\":4}97 226 130 172|{\"read\":3,\"written\":5}97 226 130 172 98|{\"read\":3,\"written\":5}97 226 130 172 98 0"),
            (r##"[0, 1, 3, 4, 5].map((n) => { const b = new Uint8Array(n); const r = new TextEncoder().encodeInto("𝌆x", b); return JSON.stringify(r) + b.join(" "); }).join("|")"##, "{\"read\":0,\"written\":0}|{\"read\":0,\"written\":0}0|{\"read\":0,\"written\":0}0 0 0|{\"read\":2,\"written\":4}240 157 140 134|{\"read\":3,\"written\":5}240 157 140 134 120"),
            (r##"(() => { const b = new Uint8Array(8); const r = new TextEncoder().encodeInto("\uD800x\uDC00", b); return JSON.stringify(r) + b.join(" "); })()"##, "{\"read\":3,\"written\":7}239 191 189 120 239 191 189 0"),
            (r##"(() => { const b = new Uint8Array(6).fill(9); const r = new TextEncoder().encodeInto("hé", b.subarray(2, 5)); return JSON.stringify(r) + b.join(" "); })()"##, "{\"read\":2,\"written\":3}9 9 104 195 169 9"),
            (r##"(() => { const r = new TextEncoder().encodeInto("", new Uint8Array(0)); return JSON.stringify(r); })()"##, "{\"read\":0,\"written\":0}"),
            (r##"(() => { try { new TextEncoder().encodeInto("a", new Uint16Array(2)); return "no throw"; } catch (e) { return e.name; } })()"##, "TypeError"),
            (r##"(() => { try { new TextEncoder().encodeInto("a", new ArrayBuffer(2)); return "no throw"; } catch (e) { return e.name; } })()"##, "TypeError"),
    ]);
}

#[test]
fn text_decoder() {
    check(&[
            (r##"[new TextEncoder().encoding, Object.prototype.toString.call(new TextEncoder()), Object.prototype.toString.call(new TextDecoder())].join()"##, "utf-8,[object Object],[object Object]"),
            (r##"(() => { const d = new TextDecoder(); return [d.encoding, d.fatal, d.ignoreBOM].join(); })()"##, "utf-8,false,false"),
            (r##"(() => { const d = new TextDecoder("utf-8", { fatal: 1, ignoreBOM: "yes" }); return [d.encoding, d.fatal, d.ignoreBOM].join(); })()"##, "utf-8,true,true"),
            // Node 20 lacks x-user-defined (RangeError); every other label matches Node.
            (r##"["UTF8", " utf-8 ", "\tUnicode-1-1-UTF-8\n", "latin1", "ascii", "iso-8859-1", "utf-16", "UTF-16LE", "utf-16be", "sjis", "shift_jis", "gbk", "gb2312", "gb18030", "big5", "euc-kr", "euc-jp", "iso-2022-jp", "iso-8859-2", "koi8-r", "windows-1251", "macintosh", "x-user-defined", "ibm866"].map((l) => new TextDecoder(l).encoding).join()"##, "utf-8,utf-8,utf-8,windows-1252,windows-1252,windows-1252,utf-16le,utf-16le,utf-16be,shift_jis,shift_jis,gbk,gbk,gb18030,big5,euc-kr,euc-jp,iso-2022-jp,iso-8859-2,koi8-r,windows-1251,macintosh,x-user-defined,ibm866"),
            (r##"["x", "", "replacement", "iso-2022-kr", "hz-gb-2312", "utf-7", "utf-32", "unicode11utf8"].map((l) => { try { return new TextDecoder(l).encoding; } catch (e) { return e.name; } }).join()"##, "RangeError,RangeError,RangeError,RangeError,RangeError,RangeError,RangeError,utf-8"),
            (r##"(() => { const d = new TextDecoder(); return JSON.stringify([d.decode(), d.decode(undefined), d.decode(new Uint8Array(0)), d.decode(new ArrayBuffer(0))]); })()"##, "[\"\",\"\",\"\",\"\"]"),
            (r##"new TextDecoder().decode(new Uint8Array([0xe2, 0x82, 0xac, 0x41]).buffer)"##, "€A"),
            (r##"new TextDecoder().decode(new Uint8Array([0x41, 0x42, 0x43, 0x44, 0x45]).subarray(1, 4))"##, "BCD"),
            (r##"new TextDecoder().decode(new DataView(new Uint8Array([0x41, 0x42, 0x43, 0x44, 0x45]).buffer, 2, 2))"##, "CD"),
            (r##"new TextDecoder().decode(new Uint16Array([0x4241, 0x4443]))"##, "ABCD"),
            (r##"new TextDecoder().decode(new Int8Array([-30, -126, -84]))"##, "€"),
            (r##"new TextDecoder().decode(new Float32Array(1)).length"##, "4"),
            (r##"JSON.stringify(new TextDecoder().decode(new Uint8Array([0xff, 0x41, 0xc3, 0x28, 0xe2, 0x82, 0x41, 0xf0, 0x9f, 0x92, 0xed, 0xa0, 0x80, 0xe2, 0x82])))"##, "\"\u{fffd}A\u{fffd}(\u{fffd}A\u{fffd}\u{fffd}\u{fffd}\u{fffd}\u{fffd}\""),
            (r##"(() => { try { new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array([0x41, 0xff])); return "no throw"; } catch (e) { return e.name; } })()"##, "TypeError"),
            (r##"(() => { try { new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array([0xe2, 0x82])); return "no throw"; } catch (e) { return e.name; } })()"##, "TypeError"),
            (r##"(() => { const d = new TextDecoder("utf-8", { fatal: true }); return d.decode(new Uint8Array([0xe2, 0x82]), { stream: true }) + "|" + d.decode(new Uint8Array([0xac])); })()"##, "|€"),
            (r##"(() => { const d = new TextDecoder(); const bytes = [0xf0, 0x9f, 0x92, 0xa9, 0x41]; return bytes.map((b) => d.decode(new Uint8Array([b]), { stream: true })).join("|") + "|" + d.decode(); })()"##, "|||💩|A|"),
            (r##"(() => { const d = new TextDecoder(); return JSON.stringify(d.decode(new Uint8Array([0xf0, 0x9f]), { stream: true }) + d.decode()); })()"##, "\"\u{fffd}\""),
            (r##"(() => { const d = new TextDecoder(); return JSON.stringify([d.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])), d.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf])), d.decode(new Uint8Array([0x41, 0xef, 0xbb, 0xbf]))]); })()"##, "[\"A\",\"\u{feff}\",\"A\u{feff}\"]"),
            (r##"(() => { const d = new TextDecoder("utf-8", { ignoreBOM: true }); return JSON.stringify(d.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]))); })()"##, "\"\u{feff}A\""),
            (r##"(() => { const d = new TextDecoder(); return JSON.stringify([d.decode(new Uint8Array([0xef]), { stream: true }), d.decode(new Uint8Array([0xbb]), { stream: true }), d.decode(new Uint8Array([0xbf, 0x41]), { stream: true }), d.decode(new Uint8Array([0xef, 0xbb, 0xbf]), { stream: true }), d.decode()]); })()"##, "[\"\",\"\",\"A\",\"\u{feff}\",\"\"]"),
            (r##"(() => { const d = new TextDecoder(); return JSON.stringify([d.decode(new Uint8Array([0x41]), { stream: true }), d.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x42]))]); })()"##, "[\"A\",\"\u{feff}B\"]"),
            (r##"(() => { const d = new TextDecoder(); d.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]), { stream: true }); return JSON.stringify(d.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x42]))); })()"##, "\"\u{feff}B\""),
            (r##"JSON.stringify(["utf-16le", "utf-16be"].map((l) => new TextDecoder(l).decode(new Uint8Array([0xff, 0xfe, 0x41, 0x00, 0xfe, 0xff, 0x00, 0x41]))))"##, "[\"A\u{fffe}䄀\",\"\u{fffe}䄀\u{feff}A\"]"),
            (r##"JSON.stringify(new TextDecoder("utf-16le").decode(new Uint8Array([0x3d, 0xd8, 0xa9, 0xdc, 0x00, 0xd8, 0x41, 0x00, 0x42])))"##, "\"💩\u{fffd}A\u{fffd}\""),
            (r##"(() => { const d = new TextDecoder("utf-16le"); return JSON.stringify([d.decode(new Uint8Array([0x3d]), { stream: true }), d.decode(new Uint8Array([0xd8, 0xa9]), { stream: true }), d.decode(new Uint8Array([0xdc]))]); })()"##, "[\"\",\"\",\"💩\"]"),
            (r##"(() => { try { new TextDecoder("utf-16le", { fatal: true }).decode(new Uint8Array([0x00, 0xd8])); return "no throw"; } catch (e) { return e.name; } })()"##, "TypeError"),
            (r##"JSON.stringify(new TextDecoder().decode(new Uint8Array([0xff, 0xfe, 0x41, 0x00])))"##, "\"\u{fffd}\u{fffd}A\\u0000\""),
            // Node 20 decodes windows-1252 as Latin-1 ("\x80é\x9fA"); the Encoding Standard maps 0x80 → €, 0x9F → Ÿ.
            (r##"new TextDecoder("windows-1252").decode(new Uint8Array([0x80, 0xe9, 0x9f, 0x41]))"##, "€éŸA"),
            (r##"new TextDecoder("iso-8859-2").decode(new Uint8Array([0xa1, 0xb1]))"##, "Ąą"),
            (r##"new TextDecoder("shift_jis").decode(new Uint8Array([0x82, 0xa0, 0x83, 0x41]))"##, "あア"),
            (r##"new TextDecoder("euc-kr").decode(new Uint8Array([0xb0, 0xa1]))"##, "가"),
            (r##"new TextDecoder("gbk").decode(new Uint8Array([0xc4, 0xe3, 0xba, 0xc3]))"##, "你好"),
            (r##"new TextDecoder("big5").decode(new Uint8Array([0xa4, 0x40]))"##, "一"),
            // Node 20 lacks x-user-defined; the Encoding Standard maps 0x80..0xFF to U+F780..U+F7FF.
            (r##"JSON.stringify(new TextDecoder("x-user-defined").decode(new Uint8Array([0x41, 0x80, 0xff])))"##, "\"A\u{f780}\u{f7ff}\""),
            (r##"new TextDecoder("koi8-r").decode(new Uint8Array([0xc1, 0xc2]))"##, "аб"),
            (r##"(() => { try { new TextDecoder("shift_jis", { fatal: true }).decode(new Uint8Array([0x82])); return "no throw"; } catch (e) { return e.name; } })()"##, "TypeError"),
            (r##"(() => { try { new TextDecoder().decode("abc"); return "no throw"; } catch (e) { return e.name; } })()"##, "TypeError"),
            (r##"(() => { try { new TextDecoder().decode({}); return "no throw"; } catch (e) { return e.name; } })()"##, "TypeError"),
            (r##"(() => { const s = "é😀".repeat(50000); const d = new TextDecoder(); const bytes = new TextEncoder().encode(s); let out = ""; for (let i = 0; i < bytes.length; i += 7) out += d.decode(bytes.subarray(i, i + 7), { stream: true }); out += d.decode(); return [bytes.length, out === s].join(); })()"##, "300000,true"),
            (r##"(() => { const s = "a\u0000\u007f\u0080\u07ff\u0800\uffff\u{10000}\u{10ffff}"; return new TextDecoder().decode(new TextEncoder().encode(s)) === s; })()"##, "true"),
            (r##"(() => { const d = new TextDecoder("utf-8", { fatal: true }); d.decode(new Uint8Array([0xe2]), { stream: true }); const r = []; try { d.decode(new Uint8Array([0x41])); r.push("no throw"); } catch (e) { r.push(e.name); } r.push(d.decode(new Uint8Array([0x41]))); try { d.decode(new Uint8Array([0xe2, 0x41]), { stream: true }); } catch (e) { r.push(e.name); } r.push(d.decode(new Uint8Array([0x42]))); return r.join(); })()"##, "TypeError,A,TypeError,B"),
            (r##"(() => { try { new TextDecoder("utf-8", 5); return "no throw"; } catch (e) { return e.name; } })()"##, "TypeError"),
            (r##"(() => { try { new TextDecoder().decode(null); return "no throw"; } catch (e) { return e.name; } })()"##, "TypeError"),
            // Node 20 ignores a non-object options argument; WebIDL dictionary conversion throws.
            (r##"(() => { try { new TextDecoder().decode(new Uint8Array(1), 5); return "no throw"; } catch (e) { return e.name; } })()"##, "TypeError"),
            // Node words it "The \"x\" encoding is not supported"; this is the message nanod documents.
            (r##"(() => { try { new TextDecoder("x"); } catch (e) { return e.message; } })()"##, "Failed to construct 'TextDecoder': The encoding label provided ('x') is invalid."),
    ]);
}

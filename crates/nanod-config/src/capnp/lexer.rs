//! Cap'n Proto text → tokens, each with its 1-based line and column.
//!
//! Knows the token shapes of the capnp language (identifiers, integers in decimal, hex and octal,
//! floats, string literals with C-style escapes, `0x"..."` data literals, punctuation) and skips
//! whitespace and `#` comments. It does not know keywords: `const`, `embed`, `true` are plain
//! identifiers here; the parser and the lowering give them meaning.

/// A 1-based position in the source text; the column counts characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    /// A string literal, escapes decoded.
    Str(String),
    /// A `0x"..."` data literal.
    Bytes(Vec<u8>),
    /// An integer literal's magnitude (a leading `-` is a separate token).
    Int(u64),
    Float(f64),
    /// One of `( ) [ ] { } , = : ; . @ $ -`.
    Punct(char),
}

impl Tok {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Str(_) => "a string".to_owned(),
            Tok::Bytes(_) => "a data literal".to_owned(),
            Tok::Int(i) => format!("'{i}'"),
            Tok::Float(f) => format!("'{f}'"),
            Tok::Punct(c) => format!("'{c}'"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub pos: Pos,
    pub message: String,
}

/// Splits `src` into tokens.
pub fn lex(src: &str) -> Result<Vec<Token>, LexError> {
    let mut lexer = Lexer { chars: src.chars().collect(), i: 0, pos: Pos { line: 1, col: 1 } };
    let mut out = Vec::new();
    while let Some(token) = lexer.next_token()? {
        out.push(token);
    }
    Ok(out)
}

struct Lexer {
    chars: Vec<char>,
    i: usize,
    pos: Pos,
}

impl Lexer {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        if c == '\n' {
            self.pos.line += 1;
            self.pos.col = 1;
        } else {
            self.pos.col += 1;
        }
        Some(c)
    }

    fn err<T>(&self, pos: Pos, message: impl Into<String>) -> Result<T, LexError> {
        Err(LexError { pos, message: message.into() })
    }

    fn next_token(&mut self) -> Result<Option<Token>, LexError> {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('#') => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                _ => break,
            }
        }
        let pos = self.pos;
        let Some(c) = self.peek() else {
            return Ok(None);
        };
        let tok = if c.is_ascii_alphabetic() || c == '_' {
            let mut s = String::new();
            while let Some(c) = self.peek().filter(|c| c.is_ascii_alphanumeric() || *c == '_') {
                s.push(c);
                self.bump();
            }
            Tok::Ident(s)
        } else if c.is_ascii_digit() {
            if c == '0' && matches!(self.peek_at(1), Some('x' | 'X')) && self.peek_at(2) == Some('"') {
                self.bump();
                self.bump();
                self.data_literal(pos)?
            } else {
                self.number(pos)?
            }
        } else if c == '"' {
            Tok::Str(self.string(pos)?)
        } else if "()[]{},=:;.@$-".contains(c) {
            self.bump();
            Tok::Punct(c)
        } else {
            return self.err(pos, format!("unexpected character '{c}'"));
        };
        Ok(Some(Token { tok, pos }))
    }

    fn number(&mut self, pos: Pos) -> Result<Tok, LexError> {
        let mut text = String::new();
        while let Some(c) = self.peek().filter(|c| c.is_ascii_alphanumeric() || *c == '_') {
            text.push(c);
            self.bump();
        }
        // A fraction needs a digit after the dot, so `1.foo` stays an error in the parser.
        let mut is_float = false;
        if self.peek() == Some('.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            is_float = true;
            text.push('.');
            self.bump();
            while let Some(c) = self.peek().filter(|c| c.is_ascii_alphanumeric()) {
                text.push(c);
                self.bump();
            }
        }
        let lower = text.to_ascii_lowercase();
        let exponent = !lower.starts_with("0x") && lower.contains('e');
        if exponent && lower.ends_with('e') && matches!(self.peek(), Some('+' | '-')) {
            // `1e-5`: the sign belongs to the exponent.
            if let Some(sign) = self.bump() {
                text.push(sign);
            }
            while let Some(c) = self.peek().filter(|c| c.is_ascii_digit()) {
                text.push(c);
                self.bump();
            }
        }
        if is_float || exponent {
            return match text.parse::<f64>() {
                Ok(f) => Ok(Tok::Float(f)),
                Err(_) => self.err(pos, format!("invalid number '{text}'")),
            };
        }
        let parsed = if let Some(hex) = lower.strip_prefix("0x") {
            u64::from_str_radix(hex, 16)
        } else if let Some(octal) = lower.strip_prefix('0').filter(|rest| !rest.is_empty()) {
            u64::from_str_radix(octal, 8)
        } else {
            lower.parse::<u64>()
        };
        match parsed {
            Ok(n) => Ok(Tok::Int(n)),
            Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => {
                self.err(pos, format!("integer '{text}' is too large"))
            }
            Err(_) => self.err(pos, format!("invalid number '{text}'")),
        }
    }

    /// After `0x`: a quoted run of hex digit pairs, whitespace allowed between them.
    fn data_literal(&mut self, pos: Pos) -> Result<Tok, LexError> {
        self.bump(); // opening quote
        let mut digits = Vec::new();
        loop {
            match self.bump() {
                None => return self.err(pos, "unterminated data literal"),
                Some('"') => break,
                Some(c) if c.is_whitespace() => {}
                Some(c) => match c.to_digit(16) {
                    // A hex digit is below 16, so it fits a byte.
                    Some(d) => digits.push(d as u8),
                    None => return self.err(pos, format!("invalid hex digit '{c}' in data literal")),
                },
            }
        }
        if digits.len() % 2 != 0 {
            return self.err(pos, "data literal has an odd number of hex digits");
        }
        Ok(Tok::Bytes(digits.chunks(2).map(|p| p.iter().fold(0u8, |acc, d| acc * 16 + d)).collect()))
    }

    fn string(&mut self, pos: Pos) -> Result<String, LexError> {
        self.bump(); // opening quote
        let mut s = String::new();
        loop {
            let here = self.pos;
            match self.bump() {
                None => return self.err(pos, "unterminated string literal"),
                Some('"') => return Ok(s),
                Some('\\') => s.push(self.escape(here)?),
                Some(c) => s.push(c),
            }
        }
    }

    fn escape(&mut self, pos: Pos) -> Result<char, LexError> {
        let Some(c) = self.bump() else {
            return self.err(pos, "unterminated string literal");
        };
        Ok(match c {
            'a' => '\u{7}',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\u{b}',
            '\'' | '"' | '\\' | '?' => c,
            'x' => {
                let mut value = 0u32;
                let mut count = 0;
                while let Some(d) = self.peek().and_then(|c| c.to_digit(16)).filter(|_| count < 2) {
                    value = value * 16 + d;
                    count += 1;
                    self.bump();
                }
                if count == 0 {
                    return self.err(pos, "'\\x' must be followed by hex digits");
                }
                char::from_u32(value).unwrap_or(char::REPLACEMENT_CHARACTER)
            }
            '0'..='7' => {
                let mut value = c.to_digit(8).unwrap_or(0);
                let mut count = 1;
                while let Some(d) = self.peek().and_then(|c| c.to_digit(8)).filter(|_| count < 3) {
                    value = value * 8 + d;
                    count += 1;
                    self.bump();
                }
                char::from_u32(value).unwrap_or(char::REPLACEMENT_CHARACTER)
            }
            'u' => {
                let braced = self.peek() == Some('{');
                if braced {
                    self.bump();
                }
                let mut value = 0u32;
                let mut count = 0;
                let max = if braced { 6 } else { 4 };
                while let Some(d) = self.peek().and_then(|c| c.to_digit(16)).filter(|_| count < max) {
                    value = value * 16 + d;
                    count += 1;
                    self.bump();
                }
                if braced && self.bump() != Some('}') {
                    return self.err(pos, "'\\u{' escape must end with '}'");
                }
                if count == 0 || (!braced && count != 4) {
                    return self.err(pos, "'\\u' must be followed by 4 hex digits or '{hex}'");
                }
                match char::from_u32(value) {
                    Some(c) => c,
                    None => return self.err(pos, format!("'\\u{{{value:x}}}' is not a Unicode scalar value")),
                }
            }
            other => return self.err(pos, format!("unknown escape sequence '\\{other}'")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lexes `src` and renders the tokens one per line as `line:col kind`, or the error.
    fn check(src: &str, expected: &str) {
        let actual = match lex(src) {
            Ok(tokens) => tokens
                .iter()
                .map(|t| format!("{}:{} {:?}", t.pos.line, t.pos.col, t.tok))
                .collect::<Vec<_>>()
                .join("\n"),
            Err(e) => format!("error {}:{} {}", e.pos.line, e.pos.col, e.message),
        };
        assert_eq!(actual, expected.trim(), "input: {src:?}");
    }

    #[test]
    fn punctuation_identifiers_and_comments() {
        check(
            "const x :Workerd.Config = (a = 1); # comment\n@0xabc;",
            r#"
1:1 Ident("const")
1:7 Ident("x")
1:9 Punct(':')
1:10 Ident("Workerd")
1:17 Punct('.')
1:18 Ident("Config")
1:25 Punct('=')
1:27 Punct('(')
1:28 Ident("a")
1:30 Punct('=')
1:32 Int(1)
1:33 Punct(')')
1:34 Punct(';')
2:1 Punct('@')
2:2 Int(2748)
2:7 Punct(';')
"#,
        );
    }

    #[test]
    fn numbers() {
        check("0x1F 017 0 42", "1:1 Int(31)\n1:6 Int(15)\n1:10 Int(0)\n1:12 Int(42)");
        check("-5", "1:1 Punct('-')\n1:2 Int(5)");
        check("1.5 2e3 1.5e-2", "1:1 Float(1.5)\n1:5 Float(2000.0)\n1:9 Float(0.015)");
        check("99999999999999999999", "error 1:1 integer '99999999999999999999' is too large");
        check("12ab", "error 1:1 invalid number '12ab'");
        check("09", "error 1:1 invalid number '09'");
    }

    #[test]
    fn strings_and_escapes() {
        check(r#""a\n\t\"\\b""#, r#"1:1 Str("a\n\t\"\\b")"#);
        check(r#""\x41\101\u{1F600}\u00e9""#, "1:1 Str(\"AA\u{1F600}é\")");
        check(r#""\q""#, "error 1:2 unknown escape sequence '\\q'");
        check("\"abc", "error 1:1 unterminated string literal");
        check("\"é\" x", "1:1 Str(\"é\")\n1:5 Ident(\"x\")");
    }

    #[test]
    fn data_literals() {
        check(r#"0x"00 ff 1a""#, "1:1 Bytes([0, 255, 26])");
        check(r#"0x"abc""#, "error 1:1 data literal has an odd number of hex digits");
        check(r#"0x"zz""#, "error 1:1 invalid hex digit 'z' in data literal");
        check(r#"0x"ab"#, "error 1:1 unterminated data literal");
    }

    #[test]
    fn bad_character() {
        check("a\n  %", "error 2:3 unexpected character '%'");
    }
}

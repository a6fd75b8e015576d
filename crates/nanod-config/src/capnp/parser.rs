//! Tokens → syntax tree of a Cap'n Proto config file.
//!
//! The grammar is the part of the capnp language that config files use:
//!
//! ```text
//! file  := item*
//! item  := '@' INT ';'                                  file id, ignored
//!        | 'using' IDENT '=' 'import' STRING ';'        import alias
//!        | 'using' IDENT '=' type ';'                   type alias
//!        | 'const' IDENT ':' type '=' value ';'
//! type  := IDENT ('.' IDENT)* ('(' type (',' type)* ')')?
//! value := STRING+ | DATA+ | '-'? INT | '-'? FLOAT | '.'? IDENT ('.' IDENT)*
//!        | '(' (IDENT '=' value),* ')' | '[' value,* ']' | 'embed' STRING
//! ```
//!
//! Trailing commas are accepted. Adjacent string (and data) literals are concatenated. The tree
//! keeps a [`Pos`] on every node; it knows nothing of the workerd schema (see `lower`).

use super::lexer::{Pos, Tok, Token};

/// Deeper nesting than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    FileId,
    Import { alias: String, path: String, pos: Pos },
    TypeAlias { alias: String, ty: TypeExpr },
    Const(Const),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Const {
    pub name: String,
    pub pos: Pos,
    pub ty: TypeExpr,
    pub value: Expr,
}

/// A type as written: `Workerd.Config`, `Text`, `List(Workerd.Service)`.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeExpr {
    pub path: Vec<String>,
    pub args: Vec<TypeExpr>,
    pub pos: Pos,
}

impl std::fmt::Display for TypeExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.path.join("."))?;
        if !self.args.is_empty() {
            let args: Vec<String> = self.args.iter().map(ToString::to_string).collect();
            write!(f, "({})", args.join(", "))?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Text(String),
    Bytes(Vec<u8>),
    Int(i128),
    Float(f64),
    /// A bare or dotted name: an enum value, `true`, `void`, or a constant (`.x` or `x`).
    Name {
        path: Vec<String>,
        leading_dot: bool,
    },
    Struct(Vec<FieldInit>),
    List(Vec<Expr>),
    /// `embed "path"`: the path as written.
    Embed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldInit {
    pub name: String,
    pub pos: Pos,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub pos: Pos,
    pub message: String,
}

/// Parses a token stream. `end` is the position just past the last character, for
/// "unexpected end of file" messages.
pub fn parse(tokens: &[Token], end: Pos) -> Result<File, ParseError> {
    let mut p = Parser { tokens, i: 0, end, depth: 0 };
    let mut items = Vec::new();
    while p.peek().is_some() {
        items.push(p.item()?);
    }
    Ok(File { items })
}

struct Parser<'a> {
    tokens: &'a [Token],
    i: usize,
    end: Pos,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.i)
    }

    fn peek_tok(&self) -> Option<&Tok> {
        self.peek().map(|t| &t.tok)
    }

    fn pos(&self) -> Pos {
        self.peek().map_or(self.end, |t| t.pos)
    }

    fn bump(&mut self) -> Option<&Token> {
        let t = self.tokens.get(self.i);
        self.i += 1;
        t
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(t) => t.tok.describe(),
            None => "end of file".to_owned(),
        }
    }

    fn err<T>(&self, expected: &str) -> Result<T, ParseError> {
        Err(ParseError { pos: self.pos(), message: format!("expected {expected}, found {}", self.found()) })
    }

    fn is_punct(&self, c: char) -> bool {
        self.peek_tok() == Some(&Tok::Punct(c))
    }

    fn is_ident(&self, word: &str) -> bool {
        matches!(self.peek_tok(), Some(Tok::Ident(s)) if s == word)
    }

    fn expect_punct(&mut self, c: char, expected: &str) -> Result<Pos, ParseError> {
        if self.is_punct(c) {
            let pos = self.pos();
            self.bump();
            Ok(pos)
        } else {
            self.err(expected)
        }
    }

    fn ident(&mut self, expected: &str) -> Result<(String, Pos), ParseError> {
        match self.peek() {
            Some(Token { tok: Tok::Ident(s), pos }) => {
                let out = (s.clone(), *pos);
                self.bump();
                Ok(out)
            }
            _ => self.err(expected),
        }
    }

    fn string(&mut self, expected: &str) -> Result<String, ParseError> {
        match self.peek_tok() {
            Some(Tok::Str(s)) => {
                let s = s.clone();
                self.bump();
                Ok(s)
            }
            _ => self.err(expected),
        }
    }

    fn item(&mut self) -> Result<Item, ParseError> {
        let pos = self.pos();
        if self.is_punct('@') {
            self.bump();
            if !matches!(self.peek_tok(), Some(Tok::Int(_))) {
                return self.err("a file id like '@0xabcdef0123456789'");
            }
            self.bump();
            self.expect_punct(';', "';' after the file id")?;
            return Ok(Item::FileId);
        }
        if self.is_ident("using") {
            self.bump();
            let (alias, _) = self.ident("a name after 'using'")?;
            self.expect_punct('=', "'=' after the 'using' name")?;
            let item = if self.is_ident("import") {
                self.bump();
                let path = self.string("an import path string")?;
                Item::Import { alias, path, pos }
            } else {
                Item::TypeAlias { alias, ty: self.type_expr()? }
            };
            self.expect_punct(';', "';' after 'using'")?;
            return Ok(item);
        }
        if self.is_ident("const") {
            self.bump();
            let (name, pos) = self.ident("a constant name")?;
            self.expect_punct(':', "':' and a type after the constant name")?;
            let ty = self.type_expr()?;
            self.expect_punct('=', "'=' after the constant's type")?;
            let value = self.value()?;
            self.expect_punct(';', "';' after the constant's value")?;
            return Ok(Item::Const(Const { name, pos, ty, value }));
        }
        self.err("'const', 'using' or a file id")
    }

    fn type_expr(&mut self) -> Result<TypeExpr, ParseError> {
        self.enter()?;
        let (first, pos) = self.ident("a type name")?;
        let mut path = vec![first];
        while self.is_punct('.') {
            self.bump();
            path.push(self.ident("a name after '.'")?.0);
        }
        let mut args = Vec::new();
        if self.is_punct('(') {
            self.bump();
            loop {
                args.push(self.type_expr()?);
                if self.is_punct(',') {
                    self.bump();
                } else {
                    break;
                }
            }
            self.expect_punct(')', "')' after type parameters")?;
        }
        self.depth -= 1;
        Ok(TypeExpr { path, args, pos })
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError { pos: self.pos(), message: format!("nesting deeper than {MAX_DEPTH} levels") });
        }
        Ok(())
    }

    fn value(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let expr = self.value_inner()?;
        self.depth -= 1;
        Ok(expr)
    }

    fn value_inner(&mut self) -> Result<Expr, ParseError> {
        let pos = self.pos();
        let Some(tok) = self.peek_tok().cloned() else {
            return self.err("a value");
        };
        let kind = match tok {
            Tok::Str(first) => {
                self.bump();
                let mut s = first;
                while let Some(Tok::Str(next)) = self.peek_tok() {
                    s.push_str(next);
                    self.bump();
                }
                ExprKind::Text(s)
            }
            Tok::Bytes(first) => {
                self.bump();
                let mut bytes = first;
                while let Some(Tok::Bytes(next)) = self.peek_tok() {
                    bytes.extend_from_slice(next);
                    self.bump();
                }
                ExprKind::Bytes(bytes)
            }
            Tok::Int(n) => {
                self.bump();
                ExprKind::Int(i128::from(n))
            }
            Tok::Float(f) => {
                self.bump();
                ExprKind::Float(f)
            }
            Tok::Punct('-') => {
                self.bump();
                match self.peek_tok() {
                    Some(&Tok::Int(n)) => {
                        self.bump();
                        ExprKind::Int(-i128::from(n))
                    }
                    Some(&Tok::Float(f)) => {
                        self.bump();
                        ExprKind::Float(-f)
                    }
                    Some(Tok::Ident(s)) if s == "inf" => {
                        self.bump();
                        ExprKind::Float(f64::NEG_INFINITY)
                    }
                    _ => return self.err("a number after '-'"),
                }
            }
            Tok::Ident(word) if word == "embed" => {
                self.bump();
                ExprKind::Embed(self.string("a file name string after 'embed'")?)
            }
            Tok::Ident(_) => ExprKind::Name { path: self.dotted()?, leading_dot: false },
            Tok::Punct('.') => {
                self.bump();
                ExprKind::Name { path: self.dotted()?, leading_dot: true }
            }
            Tok::Punct('(') => {
                self.bump();
                ExprKind::Struct(self.fields()?)
            }
            Tok::Punct('[') => {
                self.bump();
                let mut items = Vec::new();
                while !self.is_punct(']') {
                    items.push(self.value()?);
                    if self.is_punct(',') {
                        self.bump();
                    } else if !self.is_punct(']') {
                        return self.err("',' or ']' in a list");
                    }
                }
                self.bump();
                ExprKind::List(items)
            }
            _ => return self.err("a value"),
        };
        Ok(Expr { kind, pos })
    }

    fn dotted(&mut self) -> Result<Vec<String>, ParseError> {
        let mut path = vec![self.ident("a name")?.0];
        while self.is_punct('.') {
            self.bump();
            path.push(self.ident("a name after '.'")?.0);
        }
        Ok(path)
    }

    /// After `(`: `name = value` pairs up to `)`.
    fn fields(&mut self) -> Result<Vec<FieldInit>, ParseError> {
        let mut fields = Vec::new();
        while !self.is_punct(')') {
            let (name, pos) = self.ident("a field name or ')'")?;
            self.expect_punct('=', &format!("'=' after field name '{name}'"))?;
            let value = self.value()?;
            fields.push(FieldInit { name, pos, value });
            if self.is_punct(',') {
                self.bump();
            } else if !self.is_punct(')') {
                return self.err("',' or ')' after a field");
            }
        }
        self.bump();
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::super::lexer::lex;
    use super::*;

    /// Parses `src` and compares the debug rendering of the file (or the error) with `expected`.
    fn check(src: &str, expected: &str) {
        let tokens = match lex(src) {
            Ok(t) => t,
            Err(e) => panic!("lex error {e:?}"),
        };
        let actual = match parse(&tokens, Pos { line: 99, col: 1 }) {
            Ok(file) => file.items.iter().map(render_item).collect::<Vec<_>>().join("\n"),
            Err(e) => format!("error {}:{} {}", e.pos.line, e.pos.col, e.message),
        };
        assert_eq!(actual, expected.trim(), "input: {src:?}");
    }

    fn render_item(item: &Item) -> String {
        match item {
            Item::FileId => "fileid".to_owned(),
            Item::Import { alias, path, .. } => format!("import {alias} {path}"),
            Item::TypeAlias { alias, ty } => format!("alias {alias} {ty}"),
            Item::Const(c) => format!("const {} :{} = {}", c.name, c.ty, render(&c.value)),
        }
    }

    fn render(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Text(s) => format!("{s:?}"),
            ExprKind::Bytes(b) => format!("0x{b:?}"),
            ExprKind::Int(i) => i.to_string(),
            ExprKind::Float(f) => format!("{f:?}"),
            ExprKind::Name { path, leading_dot } => {
                format!("{}{}", if *leading_dot { "." } else { "" }, path.join("."))
            }
            ExprKind::Struct(fields) => {
                let f: Vec<String> = fields.iter().map(|f| format!("{}={}", f.name, render(&f.value))).collect();
                format!("({})", f.join(", "))
            }
            ExprKind::List(items) => format!("[{}]", items.iter().map(render).collect::<Vec<_>>().join(", ")),
            ExprKind::Embed(p) => format!("embed {p:?}"),
        }
    }

    #[test]
    fn items() {
        check(
            r#"@0xabcdefabcdef; using Workerd = import "/workerd/workerd.capnp"; using C = Workerd.Config;"#,
            "fileid\nimport Workerd /workerd/workerd.capnp\nalias C Workerd.Config",
        );
        check("const l :List(Workerd.Service) = [];", "const l :List(Workerd.Service) = []");
    }

    #[test]
    fn values() {
        check(
            r#"const c :T = (a = "x" "y", b = -5, c = [1, 2,], d = .w, e = e1, f = embed "f.js", g = 0x"01" 0x"02", h = -1.5, i = (),);"#,
            r#"const c :T = (a="xy", b=-5, c=[1, 2], d=.w, e=e1, f=embed "f.js", g=0x[1, 2], h=-1.5, i=())"#,
        );
        check("const c :T = -inf;", "const c :T = -inf");
    }

    #[test]
    fn errors() {
        check("const c :T = (a = 1 b = 2);", "error 1:21 expected ',' or ')' after a field, found 'b'");
        check("const c :T = (a 1);", "error 1:17 expected '=' after field name 'a', found '1'");
        check("const c :T = [1 2];", "error 1:17 expected ',' or ']' in a list, found '2'");
        check("const c :T = (a = 1)", "error 99:1 expected ';' after the constant's value, found end of file");
        check("struct Foo {}", "error 1:1 expected 'const', 'using' or a file id, found 'struct'");
        check("const c = 1;", "error 1:9 expected ':' and a type after the constant name, found '='");
        check("const c :T = -x;", "error 1:15 expected a number after '-', found 'x'");
        check("const c :T = embed x;", "error 1:20 expected a file name string after 'embed', found 'x'");
        check("const c :T = ;", "error 1:14 expected a value, found ';'");
        check("@;", "error 1:2 expected a file id like '@0xabcdef0123456789', found ';'");
        check(r#"using W = import x;"#, "error 1:18 expected an import path string, found 'x'");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let src = format!("const c :T = {}1{};", "[".repeat(500), "]".repeat(500));
        check(&src, "error 1:114 nesting deeper than 100 levels");
    }
}

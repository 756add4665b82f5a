//! Reads index expressions written the way [`crate::ir::notation`] prints them, so that rules are
//! tested and explored in their own notation: `"Σᵢ δᵢₖ·aᵢ"`, `"σ(z¹ₙᵢ)·(1 − σ(z¹ₙᵢ))"`.
//!
//! Tensors are one letter with an optional macron (adjoint), layer superscript and index
//! subscripts; `Σ` takes one subscript index and applies to the product after it; `δ` takes two
//! subscript indices; functions are `exp log sqrt abs tanh σ erf max min step sign softplus`.

use super::{Expr, Idx, Ix, Prim, Ref, Var};

/// Parses an index expression, or says where it stopped making sense.
pub fn parse(text: &str) -> Result<Expr, String> {
    let mut p = Parser {
        chars: text.chars().filter(|c| !c.is_whitespace()).collect(),
        pos: 0,
    };
    let e = p.sum()?;
    if p.pos < p.chars.len() {
        return Err(format!("unexpected `{}` at {}", p.chars[p.pos], p.pos));
    }
    Ok(e)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

fn from_subscript(c: char) -> Option<char> {
    let table = [
        ('ₐ', 'a'),
        ('ₑ', 'e'),
        ('ₕ', 'h'),
        ('ᵢ', 'i'),
        ('ⱼ', 'j'),
        ('ₖ', 'k'),
        ('ₗ', 'l'),
        ('ₘ', 'm'),
        ('ₙ', 'n'),
        ('ₒ', 'o'),
        ('ₚ', 'p'),
        ('ᵣ', 'r'),
        ('ₛ', 's'),
        ('ₜ', 't'),
        ('ᵤ', 'u'),
        ('ᵥ', 'v'),
        ('ₓ', 'x'),
    ];
    table.iter().find(|(s, _)| *s == c).map(|(_, l)| *l)
}

fn from_superscript(c: char) -> Option<char> {
    "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"
        .chars()
        .zip("0123456789-".chars())
        .find(|(s, _)| *s == c)
        .map(|(_, d)| d)
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        self.pos += usize::from(hit);
        hit
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected `{c}` at {}", self.pos))
        }
    }

    fn sum(&mut self) -> Result<Expr, String> {
        let mut terms = vec![self.product()?];
        loop {
            if self.eat('+') {
                terms.push(self.product()?);
            } else if self.eat('−') || self.eat('-') {
                terms.push(Expr::negate(self.product()?));
            } else {
                break;
            }
        }
        Ok(if terms.len() == 1 {
            terms.pop().expect("one")
        } else {
            Expr::Add(terms)
        })
    }

    fn product(&mut self) -> Result<Expr, String> {
        let mut factors = vec![self.unary()?];
        loop {
            if self.eat('·') || self.eat('*') {
                factors.push(self.unary()?);
            } else if self.eat('/') {
                factors.push(Expr::recip(self.unary()?));
            } else {
                break;
            }
        }
        Ok(if factors.len() == 1 {
            factors.pop().expect("one")
        } else {
            Expr::Mul(factors)
        })
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat('−') || self.eat('-') {
            return Ok(Expr::negate(self.unary()?));
        }
        if self.eat('Σ') {
            let i = self
                .index()?
                .ok_or_else(|| format!("Σ needs a subscript index at {}", self.pos))?;
            return Ok(Expr::sum(i, self.product()?));
        }
        self.power()
    }

    fn power(&mut self) -> Result<Expr, String> {
        let base = self.atom()?;
        let mut sup = String::new();
        while let Some(d) = self.peek().and_then(from_superscript) {
            sup.push(d);
            self.pos += 1;
        }
        if !sup.is_empty() {
            let p: f64 = sup.parse().map_err(|_| format!("bad exponent `{sup}`"))?;
            return Ok(Expr::pow(base, p));
        }
        if self.eat('^') {
            return Ok(Expr::Pow(Box::new(base), Box::new(self.unary()?)));
        }
        Ok(base)
    }

    fn index(&mut self) -> Result<Option<Idx>, String> {
        let Some(letter) = self.peek().and_then(from_subscript) else {
            return Ok(None);
        };
        self.pos += 1;
        let mut primes = 0;
        while self.eat('′') {
            primes += 1;
        }
        Ok(Some(Idx { letter, primes }))
    }

    fn atom(&mut self) -> Result<Expr, String> {
        let start = self.pos;
        match self.peek() {
            None => Err("unexpected end".to_owned()),
            Some('(') => {
                self.pos += 1;
                let e = self.sum()?;
                self.expect(')')?;
                Ok(e)
            }
            Some('|') => {
                self.pos += 1;
                let e = self.sum()?;
                self.expect('|')?;
                Ok(Expr::call(Prim::Abs, e))
            }
            Some('δ') => {
                self.pos += 1;
                let a = self.index()?.ok_or("δ needs two subscript indices")?;
                let b = self.index()?.ok_or("δ needs two subscript indices")?;
                Ok(Expr::Delta(Ix::Var(a), Ix::Var(b)))
            }
            Some('N') => {
                self.pos += 1;
                Ok(Expr::BatchSize)
            }
            Some(c) if c.is_ascii_digit() => {
                while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '.') {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                text.parse()
                    .map(Expr::Num)
                    .map_err(|_| format!("bad number `{text}`"))
            }
            Some('σ') => {
                self.pos += 1;
                self.call("σ")
            }
            Some(c) if c.is_alphabetic() => {
                while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                    self.pos += 1;
                }
                let word: String = self.chars[start..self.pos].iter().collect();
                if self.peek() == Some('(') && (word.len() > 1 || word == "σ") {
                    return self.call(&word);
                }
                if word.chars().count() != 1 {
                    return Err(format!("unknown function `{word}` at {start}"));
                }
                self.reference(word.chars().next().expect("one letter"))
            }
            Some(c) => Err(format!("unexpected `{c}` at {start}")),
        }
    }

    fn call(&mut self, word: &str) -> Result<Expr, String> {
        let f = [
            Prim::Exp,
            Prim::Log,
            Prim::Sqrt,
            Prim::Abs,
            Prim::Tanh,
            Prim::Sigmoid,
            Prim::Erf,
            Prim::Max,
            Prim::Min,
            Prim::Step,
            Prim::Sign,
            Prim::Softplus,
            Prim::LogAddExp,
        ]
        .into_iter()
        .find(|p| p.name() == word || (word == "sigmoid" && *p == Prim::Sigmoid))
        .ok_or_else(|| format!("unknown function `{word}`"))?;
        self.expect('(')?;
        let mut args = vec![self.sum()?];
        while self.eat(',') {
            args.push(self.sum()?);
        }
        self.expect(')')?;
        Ok(Expr::Call(f, args))
    }

    fn reference(&mut self, letter: char) -> Result<Expr, String> {
        let adjoint = self.eat('\u{0304}');
        let mut layer = String::new();
        while let Some(d) = self
            .peek()
            .and_then(from_superscript)
            .filter(|d| d.is_ascii_digit())
        {
            layer.push(d);
            self.pos += 1;
        }
        let layer = if layer.is_empty() {
            None
        } else {
            Some(layer.parse().map_err(|_| "bad layer")?)
        };
        let mut ix = Vec::new();
        while let Some(i) = self.index()? {
            ix.push(Ix::Var(i));
        }
        Ok(Expr::Ref(Ref {
            var: Var { letter, layer },
            adjoint,
            ix,
        }))
    }
}

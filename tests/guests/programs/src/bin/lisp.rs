//! A small Lisp (reader, environments, closures, cons lists) running a program of
//! recursive functions: fib, list building, map/filter/fold and a merge sort written in Lisp.
//! argv[1]: how many times the program's main loop runs.
use programs::size_arg;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

#[derive(Clone)]
enum Val {
    Nil,
    Int(i64),
    Bool(bool),
    Sym(u32),
    Pair(Rc<(Val, Val)>),
    Lambda(Rc<Lambda>),
    Builtin(Builtin),
}

type Builtin = fn(&[Val]) -> Val;

struct Lambda {
    params: Vec<u32>,
    body: Val,
    env: Rc<Env>,
}

struct Env {
    vars: RefCell<Vec<(u32, Val)>>,
    parent: Option<Rc<Env>>,
}

impl Env {
    fn get(&self, sym: u32) -> Val {
        if let Some((_, v)) = self.vars.borrow().iter().rev().find(|(s, _)| *s == sym) {
            return v.clone();
        }
        match &self.parent {
            Some(p) => p.get(sym),
            None => panic!("unbound symbol #{sym}"),
        }
    }
}

fn int(v: &Val) -> i64 {
    match v {
        Val::Int(n) => *n,
        _ => panic!("not a number"),
    }
}

fn truthy(v: &Val) -> bool {
    !matches!(v, Val::Nil | Val::Bool(false))
}

fn cons(a: Val, b: Val) -> Val {
    Val::Pair(Rc::new((a, b)))
}

type Tokens = std::iter::Peekable<std::vec::IntoIter<String>>;

struct Interp {
    symbols: HashMap<String, u32>,
    forms: [u32; 6],
}

impl Interp {
    fn new() -> Self {
        let mut it = Interp { symbols: HashMap::new(), forms: [0; 6] };
        it.forms = ["quote", "if", "define", "lambda", "let", "begin"].map(|f| it.intern(f));
        it
    }

    fn intern(&mut self, name: &str) -> u32 {
        let next = self.symbols.len() as u32;
        *self.symbols.entry(name.to_string()).or_insert(next)
    }

    fn read(&mut self, tokens: &mut Tokens) -> Val {
        let tok = tokens.next().expect("unexpected end of input");
        match tok.as_str() {
            "(" => {
                let mut items = Vec::new();
                while tokens.peek().map(String::as_str) != Some(")") {
                    items.push(self.read(tokens));
                }
                tokens.next();
                items.into_iter().rev().fold(Val::Nil, |tail, v| cons(v, tail))
            }
            "'" => cons(Val::Sym(self.forms[0]), cons(self.read(tokens), Val::Nil)),
            "#t" => Val::Bool(true),
            "#f" => Val::Bool(false),
            _ => tok.parse().map(Val::Int).unwrap_or_else(|_| Val::Sym(self.intern(&tok))),
        }
    }

    fn parse(&mut self, src: &str) -> Vec<Val> {
        let spaced = src.replace('(', " ( ").replace(')', " ) ").replace('\'', " ' ");
        let tokens: Vec<String> = spaced.split_whitespace().map(String::from).collect();
        let mut tokens = tokens.into_iter().peekable();
        let mut forms = Vec::new();
        while tokens.peek().is_some() {
            forms.push(self.read(&mut tokens));
        }
        forms
    }
}

fn list(v: &Val) -> Vec<Val> {
    let mut out = Vec::new();
    let mut cur = v.clone();
    while let Val::Pair(p) = cur {
        out.push(p.0.clone());
        cur = p.1.clone();
    }
    out
}

fn eval(forms: &[u32; 6], x: &Val, env: &Rc<Env>) -> Val {
    let Val::Pair(p) = x else {
        return match x {
            Val::Sym(s) => env.get(*s),
            other => other.clone(),
        };
    };
    let args = list(&p.1);
    if let Val::Sym(head) = p.0 {
        match forms.iter().position(|&f| f == head) {
            Some(0) => return args[0].clone(),
            Some(1) => {
                let branch = if truthy(&eval(forms, &args[0], env)) { 1 } else { 2 };
                return args.get(branch).map_or(Val::Nil, |b| eval(forms, b, env));
            }
            Some(2) => {
                let Val::Sym(name) = args[0] else { panic!("define needs a name") };
                let value = eval(forms, &args[1], env);
                env.vars.borrow_mut().push((name, value));
                return Val::Nil;
            }
            Some(3) => {
                let params = list(&args[0]).iter().map(|v| match v { Val::Sym(s) => *s, _ => panic!("bad parameter") }).collect();
                return Val::Lambda(Rc::new(Lambda { params, body: args[1].clone(), env: env.clone() }));
            }
            Some(4) => {
                let scope = Rc::new(Env { vars: RefCell::new(Vec::new()), parent: Some(env.clone()) });
                for binding in list(&args[0]) {
                    let b = list(&binding);
                    let Val::Sym(name) = b[0] else { panic!("let needs names") };
                    let value = eval(forms, &b[1], &scope);
                    scope.vars.borrow_mut().push((name, value));
                }
                return eval(forms, &args[1], &scope);
            }
            Some(_) => return args.iter().fold(Val::Nil, |_, a| eval(forms, a, env)),
            None => {}
        }
    }
    let f = eval(forms, &p.0, env);
    let values: Vec<Val> = args.iter().map(|a| eval(forms, a, env)).collect();
    apply(forms, &f, values)
}

fn apply(forms: &[u32; 6], f: &Val, args: Vec<Val>) -> Val {
    match f {
        Val::Builtin(b) => b(&args),
        Val::Lambda(l) => {
            let vars = l.params.iter().copied().zip(args).collect();
            let env = Rc::new(Env { vars: RefCell::new(vars), parent: Some(l.env.clone()) });
            eval(forms, &l.body, &env)
        }
        _ => panic!("not a function"),
    }
}

const PRELUDE: &str = r#"
(define fib (lambda (n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2))))))
(define range (lambda (a b) (if (< a b) (cons a (range (+ a 1) b)) '())))
(define map (lambda (f xs) (if (null? xs) '() (cons (f (car xs)) (map f (cdr xs))))))
(define filter (lambda (p xs) (if (null? xs) '()
    (if (p (car xs)) (cons (car xs) (filter p (cdr xs))) (filter p (cdr xs))))))
(define fold (lambda (f acc xs) (if (null? xs) acc (fold f (f acc (car xs)) (cdr xs)))))
(define take (lambda (n xs) (if (= n 0) '() (cons (car xs) (take (- n 1) (cdr xs))))))
(define drop (lambda (n xs) (if (= n 0) xs (drop (- n 1) (cdr xs)))))
(define merge (lambda (a b) (if (null? a) b (if (null? b) a
    (if (< (car b) (car a)) (cons (car b) (merge a (cdr b))) (cons (car a) (merge (cdr a) b)))))))
(define sort (lambda (xs n) (if (< n 2) xs
    (let ((h (/ n 2))) (merge (sort (take h xs) h) (sort (drop h xs) (- n h)))))))
(define scramble (lambda (x) (% (+ (* x 7919) 13) 1009)))
(define round (lambda (i)
    (let ((xs (map scramble (range i (+ i 96)))))
      (let ((sorted (sort xs 96)))
        (+ (fib 12)
           (+ (car sorted)
              (fold + 0 (filter (lambda (x) (= (% x 3) 0)) sorted))))))))
"#;

fn builtins() -> Vec<(&'static str, Builtin)> {
    vec![
        ("+", |a| Val::Int(int(&a[0]) + int(&a[1]))),
        ("-", |a| Val::Int(int(&a[0]) - int(&a[1]))),
        ("*", |a| Val::Int(int(&a[0]) * int(&a[1]))),
        ("/", |a| Val::Int(int(&a[0]) / int(&a[1]))),
        ("%", |a| Val::Int(int(&a[0]) % int(&a[1]))),
        ("<", |a| Val::Bool(int(&a[0]) < int(&a[1]))),
        ("=", |a| Val::Bool(int(&a[0]) == int(&a[1]))),
        ("cons", |a| cons(a[0].clone(), a[1].clone())),
        ("car", |a| match &a[0] { Val::Pair(p) => p.0.clone(), _ => Val::Nil }),
        ("cdr", |a| match &a[0] { Val::Pair(p) => p.1.clone(), _ => Val::Nil }),
        ("null?", |a| Val::Bool(matches!(a[0], Val::Nil))),
    ]
}

fn main() {
    let n = size_arg(24);
    let mut interp = Interp::new();
    let global = Rc::new(Env { vars: RefCell::new(Vec::new()), parent: None });
    for (name, f) in builtins() {
        let sym = interp.intern(name);
        global.vars.borrow_mut().push((sym, Val::Builtin(f)));
    }
    let forms = interp.parse(PRELUDE);
    for form in &forms {
        eval(&interp.forms, form, &global);
    }
    // The main loop runs here, not as Lisp recursion: the interpreter has no tail calls.
    let round = Val::Sym(interp.intern("round"));
    let total: i64 = (0..n as i64)
        .map(|i| int(&eval(&interp.forms, &cons(round.clone(), cons(Val::Int(i), Val::Nil)), &global)))
        .sum();
    println!("lisp: rounds={n} forms={} symbols={} result={total}", forms.len(), interp.symbols.len());
}

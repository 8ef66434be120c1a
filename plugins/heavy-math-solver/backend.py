"""Heavy Math Solver backend (Python): a module with run(payload).

Finds arithmetic expressions and one-variable equations in a piece of text and solves them
exactly, with a small parser of its own: no eval(), no exec(), no third-party packages.

- arithmetic: + - * / ^ (or **), parentheses, unary minus, decimals, %, sqrt(), implicit
  multiplication ("2(3+4)"), and the Unicode signs x, ÷, −, ·;
- equations: polynomial in one letter of degree 1 or 2 ("2x + 3 = 11", "x^2 - 5x + 6 = 0").

Results are exact fractions where possible, with a decimal beside them.

It declares no model file: see README.md for why. A backend that needs one reads its path
with os.getenv("<KEY>"), where KEY is the "key" of the model in manifest.json.
"""

import math
import os
import re
from fractions import Fraction

print("heavy-math-solver: backend loaded (pid %d); exact arithmetic, no model file" % os.getpid())

MAX_TEXT = 20000
MAX_EXPONENT = 64
# Every number and polynomial is bounded as it is made, never after: "((x+1)^64)^64" multiplied out
# a polynomial of degree 4,096 before its size was checked (36 s of CPU for 17 characters), and a
# page could keep the worker busy with such text. Equations of degree 1 and 2 are solved; up to 8
# may appear on the way ("(x+1)^3 - x^3 = 7").
MAX_DEGREE = 8
MAX_BITS = 1330  # about 400 decimal digits: read as a length, where str() of a big number costs its square
MAX_NUMBER_CHARS = 400


class MathError(ValueError):
    """Something in the text looked like math but is not something we can solve."""


# --- tokens ---------------------------------------------------------------------------------

SIGNS = {"×": "*", "·": "*", "÷": "/", "−": "-", "–": "-", "²": "^2", "³": "^3"}
TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?|\.\d+)|(sqrt|[a-z])|(\*\*|[-+*/^()=%]))", re.IGNORECASE)


def normalise(text):
    for sign, ascii_sign in SIGNS.items():
        text = text.replace(sign, ascii_sign)
    return text


def tokenize(text):
    tokens = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = TOKEN.match(text, position)
        if not match or match.end() == position:
            raise MathError("unexpected %r" % text[position])
        number, name, operator = match.groups()
        if number is not None and len(number) > MAX_NUMBER_CHARS:
            # Python refuses to read an integer of more than 4,300 digits (ValueError), which failed the whole text.
            raise MathError("a number of more than %d digits" % MAX_NUMBER_CHARS)
        if number is not None:
            tokens.append(("num", Fraction(number)))
        elif name is not None:
            tokens.append(("name", name.lower()))
        else:
            tokens.append(("op", "^" if operator == "**" else operator))
        position = match.end()
    return tokens


# --- polynomials in one variable: {degree: coefficient} ---------------------------------------

def poly_const(value):
    return {0: value} if value else {}


def poly_add(a, b, sign=1):
    out = dict(a)
    for degree, coefficient in b.items():
        out[degree] = check_size(out.get(degree, Fraction(0)) + sign * coefficient)
        if out[degree] == 0:
            del out[degree]
    return out


def poly_degree(p):
    return max(p) if p else 0


def check_degree(degree):
    if degree > MAX_DEGREE:
        raise MathError("the variable's power grows past %d" % MAX_DEGREE)


def poly_mul(a, b):
    check_degree(poly_degree(a) + poly_degree(b))
    out = {}
    for da, ca in a.items():
        for db, cb in b.items():
            out[da + db] = out.get(da + db, Fraction(0)) + check_size(ca * cb)
    return {d: check_size(c) for d, c in out.items() if c != 0}


def poly_scale(p, divisor):
    return {d: check_size(c / divisor) for d, c in p.items()}


def poly_constant_value(p):
    if any(degree != 0 for degree in p):
        raise MathError("the variable cannot be used here")
    return p.get(0, Fraction(0))


def check_size(value):
    if value.numerator.bit_length() > MAX_BITS or value.denominator.bit_length() > MAX_BITS:
        raise MathError("the numbers grow too large")
    return value


# --- parser: recursive descent over tokens ----------------------------------------------------

class Parser:
    def __init__(self, tokens):
        self.tokens = tokens
        self.index = 0
        self.variables = set()
        self.irrational = False

    def peek(self):
        return self.tokens[self.index] if self.index < len(self.tokens) else (None, None)

    def take(self):
        token = self.peek()
        self.index += 1
        return token

    def expect(self, value):
        kind, got = self.take()
        if got != value:
            raise MathError("expected %r" % value)

    def parse_expression(self):
        left = self.parse_term()
        while self.peek() in (("op", "+"), ("op", "-")):
            _, operator = self.take()
            right = self.parse_term()
            left = poly_add(left, right, 1 if operator == "+" else -1)
        return left

    def starts_factor(self):
        kind, value = self.peek()
        return kind in ("num", "name") or value == "("

    def parse_term(self):
        left = self.parse_unary()
        while True:
            kind, value = self.peek()
            if value in ("*", "/"):
                self.take()
                right = self.parse_unary()
                if value == "*":
                    left = poly_mul(left, right)
                else:
                    divisor = poly_constant_value(right)
                    if divisor == 0:
                        raise MathError("division by zero")
                    left = poly_scale(left, divisor)
            elif self.starts_factor():
                left = poly_mul(left, self.parse_unary())  # implicit: 2x, 3(x + 1), (a)(b)
            else:
                return left

    def parse_unary(self):
        if self.peek() == ("op", "-"):
            self.take()
            return {d: -c for d, c in self.parse_unary().items()}
        if self.peek() == ("op", "+"):
            self.take()
            return self.parse_unary()
        return self.parse_power()

    def parse_power(self):
        base = self.parse_postfix()
        if self.peek() == ("op", "^"):
            self.take()
            exponent = poly_constant_value(self.parse_unary())  # right-associative: 2^3^2 = 2^9
            if exponent.denominator != 1 or abs(exponent) > MAX_EXPONENT:
                raise MathError("only whole exponents up to %d are supported" % MAX_EXPONENT)
            power = int(exponent)
            if power < 0:
                value = poly_constant_value(base)
                if value == 0:
                    raise MathError("division by zero")
                base, power = {0: 1 / value}, -power
            check_degree(poly_degree(base) * power)
            result = {0: Fraction(1)}
            for _ in range(power):
                result = poly_mul(result, base)  # each step checked: a big number stops at its first
            return result
        return base

    def parse_postfix(self):
        value = self.parse_atom()
        while self.peek() == ("op", "%"):
            self.take()
            value = poly_scale(value, 100)
        return value

    def parse_atom(self):
        kind, value = self.take()
        if kind == "num":
            return poly_const(value)
        if kind == "name" and value == "sqrt":
            self.expect("(")
            inner = poly_constant_value(self.parse_expression())
            self.expect(")")
            return poly_const(sqrt_fraction(inner, self))
        if kind == "name":
            self.variables.add(value)
            if len(self.variables) > 1:
                raise MathError("more than one variable (%s)" % ", ".join(sorted(self.variables)))
            return {1: Fraction(1)}
        if value == "(":
            inner = self.parse_expression()
            self.expect(")")
            return inner
        raise MathError("unexpected end" if kind is None else "unexpected %r" % value)


def sqrt_fraction(value, parser):
    if value < 0:
        raise MathError("square root of a negative number")
    numerator, denominator = math.isqrt(value.numerator), math.isqrt(value.denominator)
    if numerator * numerator == value.numerator and denominator * denominator == value.denominator:
        return Fraction(numerator, denominator)
    parser.irrational = True
    return Fraction(math.sqrt(value)).limit_denominator(10 ** 12)


# --- formatting -----------------------------------------------------------------------------

def decimal(value):
    text = ("%.10f" % float(value)).rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def exact(value):
    return str(value.numerator) if value.denominator == 1 else "%d/%d" % (value.numerator, value.denominator)


def number(value, approximate=False):
    shown = decimal(value) if approximate else exact(value)
    return {"exact": None if approximate else exact(value), "decimal": decimal(value), "text": shown}


# --- solving --------------------------------------------------------------------------------

def solve_arithmetic(source):
    parser = Parser(tokenize(source))
    value = parser.parse_expression()
    if parser.index != len(parser.tokens):
        raise MathError("unexpected %r" % parser.tokens[parser.index][1])
    if parser.variables:
        raise MathError("has a variable but no '=': nothing to solve")
    result = number(poly_constant_value(value), parser.irrational)
    return {"kind": "arithmetic", "input": source.strip(), "result": result, "answer": "%s = %s" % (source.strip(), result["text"])}


def solve_equation(source):
    left_text, right_text = source.split("=")
    left, right = Parser(tokenize(left_text)), Parser(tokenize(right_text))
    lhs, rhs = left.parse_expression(), right.parse_expression()
    for parser in (left, right):
        if parser.index != len(parser.tokens):
            raise MathError("unexpected %r" % parser.tokens[parser.index][1])
    variables = left.variables | right.variables
    if len(variables) != 1:
        raise MathError("an equation needs exactly one variable" if not variables else "more than one variable")
    variable = variables.pop()
    poly = poly_add(lhs, rhs, -1)  # lhs - rhs = 0
    degree = max(poly) if poly else 0
    base = {"kind": "equation", "input": source.strip(), "variable": variable, "degree": degree}
    if not poly:
        return dict(base, solutions=[], answer="true for every %s" % variable, identity=True)
    if degree == 0:
        return dict(base, solutions=[], answer="no solution")
    if degree == 1:
        value = -poly.get(0, Fraction(0)) / poly[1]
        solution = number(value, left.irrational or right.irrational)
        return dict(base, solutions=[solution], answer="%s = %s" % (variable, solution["text"]))
    if degree == 2:
        a, b, c = poly[2], poly.get(1, Fraction(0)), poly.get(0, Fraction(0))
        discriminant = b * b - 4 * a * c
        if discriminant < 0:
            return dict(base, solutions=[], answer="no real solution (discriminant %s)" % exact(discriminant))
        holder = Parser([])
        root = sqrt_fraction(discriminant, holder)
        approximate = holder.irrational or left.irrational or right.irrational
        values = sorted({(-b - root) / (2 * a), (-b + root) / (2 * a)})
        solutions = [number(value, approximate) for value in values]
        shown = " or ".join("%s = %s" % (variable, s["text"]) for s in solutions)
        return dict(base, solutions=solutions, answer=shown)
    raise MathError("degree %d equations are not supported (only 1 and 2)" % degree)


# A run of characters that can be math; what it holds is checked by the parser.
CANDIDATE = re.compile(r"[0-9a-zA-Z().+\-*/^=%\s]+")
WORD = re.compile(r"[a-zA-Z]{2,}")


HYPHENATED = re.compile(r"^\d+(-\d+)+$")  # 2024-05-01, 555-1234: dates and numbers, not sums
PERCENT_OF = re.compile(r"(\d)\s*%\s*of\s+", re.IGNORECASE)
# Anchored at the start only: "(?:\s+[a-z])+$" for the end was tried at every position and backtracked
# through each run of spaces (4 s for 20,000 spaces, helper-80); the end is stripped as the start
# of the reversed text instead.
LEADING_LONE_LETTERS = re.compile(r"^(?:[a-zA-Z]\s+)+")


def strip_lone_letters(piece):
    piece = LEADING_LONE_LETTERS.sub("", piece, count=1)
    return LEADING_LONE_LETTERS.sub("", piece[::-1], count=1)[::-1]


def candidates(text):
    """Math-looking stretches of text: digits and operators, words other than sqrt removed."""
    text = PERCENT_OF.sub(r"\1% * ", text)  # "15% of 200" is 15% * 200
    for match in CANDIDATE.finditer(text):
        chunk = match.group(0)
        # Split at words ("Solve 2x + 3 = 11 please"): a word is never part of the math, except sqrt.
        for piece in re.split(r"\b(?!sqrt\b)[a-zA-Z]{2,}\b", chunk):
            piece = piece.strip(" \t\n.,;:")
            if "=" not in piece:
                piece = strip_lone_letters(piece)  # "take a 5 + 3 minute break": the "a" is English
            if HYPHENATED.match(piece):
                continue
            if piece and re.search(r"\d", piece) and (re.search(r"[-+*/^=%]", piece) or "sqrt" in piece):
                yield piece


def solve_one(source):
    if source.count("=") > 1:
        raise MathError("more than one '='")
    return solve_equation(source) if "=" in source else solve_arithmetic(source)


def run(payload):
    """payload: {"text": "..."} -> {"problems": [...], "skipped": [...]}"""
    text = payload.get("text") if isinstance(payload, dict) else payload
    if not isinstance(text, str):
        raise TypeError('Send {"text": "..."} with the text to look for math in')
    text = normalise(text[:MAX_TEXT])
    problems, skipped, seen = [], [], set()
    for source in candidates(text):
        if source in seen:
            continue
        seen.add(source)
        try:
            problems.append(solve_one(source))
        except (MathError, ZeroDivisionError, OverflowError) as error:
            skipped.append({"input": source, "reason": str(error)})
        except RecursionError:
            skipped.append({"input": source, "reason": "nested too deeply"})
    return {"problems": problems, "skipped": skipped}

//! SIMPLE calculated-field expressions: math over argument names, parsed
//! once (exmex) and evaluated on every change.
//!
//! The operators are exmex's float set, which covers ThingsBoard's (exp4j):
//! `+ - * / ^`, `abs sqrt cbrt exp ln log log2 log10 sin cos tan asin acos
//! atan sinh cosh tanh floor ceil round trunc signum`, binary `min max
//! atan2` (`min(a, b)`), and the constants `PI` and `E`.

use exmex::{Express, FlatEx};

use super::validate::ValidationError;

/// Nesting deeper than this is refused before parsing: no formula needs
/// it, and the parser should never be handed a stack-depth problem.
const MAX_NESTING: usize = 64;

#[derive(Debug, Clone)]
pub struct Expression {
    flat: FlatEx<f64>,
    /// For each of exmex's variables (in its alphabetical order), the index
    /// of the argument that feeds it.
    feeds: Vec<usize>,
}

fn nesting(src: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for c in src.chars() {
        match c {
            '(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

impl Expression {
    /// Parses `src`; every variable must be one of `arguments`.
    pub fn compile(src: &str, arguments: &[&str]) -> Result<Expression, ValidationError> {
        if nesting(src) > MAX_NESTING {
            return Err(ValidationError::new(format!(
                "The expression nests deeper than {MAX_NESTING} parentheses"
            )));
        }
        // Curly-bracket variables would let any text be a name; argument
        // names never need them.
        if src.contains('{') || src.contains('}') {
            return Err(ValidationError::new(
                "Invalid expression: '{' and '}' are not allowed",
            ));
        }
        let flat = exmex::parse::<f64>(src)
            .map_err(|e| ValidationError::new(format!("Invalid expression: {e}")))?;
        let mut feeds = Vec::with_capacity(flat.var_names().len());
        for var in flat.var_names() {
            let index = arguments.iter().position(|a| a == var).ok_or_else(|| {
                ValidationError::new(format!(
                    "The expression uses '{var}', which is not an argument"
                ))
            })?;
            feeds.push(index);
        }
        Ok(Expression { flat, feeds })
    }

    /// Evaluates with `values[i]` the value of argument `i`. A result that
    /// is not a finite number (division by zero, `sqrt(-1)`) is an error:
    /// it cannot be saved as telemetry.
    pub fn eval(&self, values: &[f64]) -> Result<f64, String> {
        let mut vars = [0.0f64; super::calculated_field::MAX_ARGUMENTS];
        for (slot, &index) in vars.iter_mut().zip(&self.feeds) {
            *slot = *values
                .get(index)
                .ok_or_else(|| format!("argument {index} is missing"))?;
        }
        let result = self
            .flat
            .eval(&vars[..self.feeds.len()])
            .map_err(|e| e.to_string())?;
        if result.is_finite() {
            Ok(result)
        } else {
            Err(format!("the result is not a finite number ({result})"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_fed_by_argument_position_not_alphabet() {
        // exmex orders variables alphabetically (a, b); the arguments come
        // as (b, a): the feed map must swap them.
        let e = Expression::compile("a - b", &["b", "a"]).unwrap();
        assert_eq!(e.eval(&[1.0, 10.0]).unwrap(), 9.0);
    }

    #[test]
    fn thingsboard_style_formulas_evaluate() {
        let e = Expression::compile("(temperature * 9 / 5) + 32", &["temperature"]).unwrap();
        assert_eq!(e.eval(&[100.0]).unwrap(), 212.0);
        let e = Expression::compile("sqrt(x^2 + y^2)", &["x", "y"]).unwrap();
        assert_eq!(e.eval(&[3.0, 4.0]).unwrap(), 5.0);
        let e = Expression::compile("max(x, y) + min(x, y) + PI - PI", &["x", "y"]).unwrap();
        assert_eq!(e.eval(&[2.0, 7.0]).unwrap(), 9.0);
        let e = Expression::compile("42", &["unused"]).unwrap();
        assert_eq!(e.eval(&[1.0]).unwrap(), 42.0);
    }

    #[test]
    fn unknown_names_and_bad_syntax_are_refused() {
        let err = Expression::compile("t + humidity", &["t"]).unwrap_err();
        assert!(err.0.contains("'humidity'"), "{err}");
        assert!(Expression::compile("t +", &["t"]).is_err());
        assert!(Expression::compile("{t}", &["t"]).is_err());
        let deep = format!("{}t{}", "(".repeat(200), ")".repeat(200));
        assert!(
            Expression::compile(&deep, &["t"])
                .unwrap_err()
                .0
                .contains("nests")
        );
    }

    #[test]
    fn non_finite_results_are_errors() {
        let e = Expression::compile("1 / t", &["t"]).unwrap();
        assert!(e.eval(&[0.0]).unwrap_err().contains("finite"));
        let e = Expression::compile("sqrt(t)", &["t"]).unwrap();
        assert!(e.eval(&[-1.0]).is_err());
    }
}

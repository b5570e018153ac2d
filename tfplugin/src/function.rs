//! Typed provider-defined functions (Terraform 1.8+, OpenTofu 1.7+),
//! called as `provider::<provider>::<name>(...)`. A function declares its
//! parameters as a model, the way resources declare attributes: one field
//! per parameter, in order, each with its doc comment as description;
//! `#[tf(required)]` parameters refuse null (Terraform checks that before
//! calling), `#[tf(optional)]` ones accept it. With [`Function::VARIADIC`],
//! the last field (a `Vec<T>`) takes every remaining argument. The doc
//! comment of the model is the function's description.
//!
//! The framework ([`handler`]) decodes the arguments into the model (value
//! types refuse bad values), runs the validators declared on its fields,
//! then [`Function::call`]. Every problem is a diagnostic at an attribute
//! path whose first step names a parameter, which is how the framework
//! tells Terraform the argument it is about: `FunctionError` with the
//! argument's index (for a variadic parameter `name[i]` is argument
//! `parameters + i`). So checks written for a data source's attributes
//! serve a function whose parameters have the same names.

use crate::diag::{Diagnostic, Diagnostics, PathStep, Severity};
use crate::framework::{FunctionError, FunctionHandler};
use crate::model::{Model, TfType};
use crate::schema::{FunctionParameter, FunctionSignature};
use crate::value::{Type, Value};

pub trait Function: Send + Sync + 'static {
    /// The name after `provider::<provider>::`, e.g. `trust_policy`.
    const NAME: &'static str;
    /// One line, shown by tools (no Markdown).
    const SUMMARY: &'static str;
    /// The last parameter takes any number of arguments (zero or more).
    const VARIADIC: bool = false;
    /// The parameters (see the module documentation).
    type Args: Model + Send;
    type Return: TfType;

    /// The result, or why the arguments are refused (diagnostics at the
    /// parameters' paths).
    fn call(&self, args: Self::Args) -> Result<Self::Return, Diagnostics>;
}

/// The handler the server calls for `function`.
pub fn handler<F: Function>(function: F) -> std::sync::Arc<dyn FunctionHandler> {
    std::sync::Arc::new(Handler(function))
}

struct Handler<F>(F);

/// The signature `F` declares.
pub fn signature<F: Function>() -> FunctionSignature {
    let block = F::Args::block();
    let mut parameters: Vec<FunctionParameter> = block
        .attributes
        .iter()
        .map(|a| FunctionParameter {
            name: a.name.clone(),
            ty: a.ty.clone(),
            description: a.description.clone(),
            allow_null: a.optional,
        })
        .collect();
    let variadic = if F::VARIADIC {
        let mut last = parameters
            .pop()
            .expect("a variadic function has a last parameter");
        last.ty = match last.ty {
            Type::List(inner) | Type::Set(inner) => *inner,
            other => panic!(
                "the variadic parameter `{}` of {} must be a list, not {other:?}",
                last.name,
                F::NAME
            ),
        };
        Some(last)
    } else {
        None
    };
    FunctionSignature {
        summary: F::SUMMARY.to_string(),
        description: block.description,
        parameters,
        variadic,
        return_type: F::Return::tf_type(),
    }
}

/// The argument a diagnostic is about, from the first steps of its path.
fn argument_of(d: &Diagnostic, sig: &FunctionSignature) -> Option<(usize, usize)> {
    let steps = &d.path.as_ref()?.0;
    let PathStep::Attr(name) = steps.first()? else {
        return None;
    };
    if let Some(i) = sig.parameters.iter().position(|p| &p.name == name) {
        return Some((i, 1));
    }
    match (&sig.variadic, steps.get(1)) {
        (Some(v), Some(PathStep::Index(j))) if &v.name == name => {
            Some((sig.parameters.len() + *j as usize, 2))
        }
        (Some(v), None) if &v.name == name => Some((sig.parameters.len(), 1)),
        _ => None,
    }
}

/// The first error of `diags` as Terraform's function error: its summary
/// and detail, the part of the path below the argument (an element of a
/// list argument) named in the text, and the argument's index.
pub fn function_error(diags: &Diagnostics, sig: &FunctionSignature) -> FunctionError {
    let Some(d) = diags.0.iter().find(|d| d.severity == Severity::Error) else {
        return FunctionError::new("The function failed without saying why.");
    };
    let mut text = if d.detail.is_empty() {
        d.summary.clone()
    } else {
        format!("{}: {}", d.summary, d.detail)
    };
    // Terraform adds the period after "Invalid value for "x" parameter: ...".
    while text.ends_with('.') {
        text.pop();
    }
    match argument_of(d, sig) {
        Some((argument, depth)) => {
            let below = &d.path.as_ref().expect("a path").0[depth..];
            if !below.is_empty() {
                let mut place = String::new();
                for (k, step) in below.iter().enumerate() {
                    match (k, step) {
                        (0, PathStep::Index(i)) => place = format!("element {i}"),
                        (0, PathStep::Key(key)) => place = format!("key {key:?}"),
                        (0, PathStep::Attr(a)) => place = a.clone(),
                        (_, PathStep::Attr(a)) => place.push_str(&format!(".{a}")),
                        (_, PathStep::Index(i)) => place.push_str(&format!("[{i}]")),
                        (_, PathStep::Key(key)) => place.push_str(&format!("[{key:?}]")),
                    }
                }
                text = format!("{place}: {text}");
            }
            FunctionError::at_argument(argument, text)
        }
        None => FunctionError::new(text),
    }
}

impl<F: Function> FunctionHandler for Handler<F> {
    fn name(&self) -> &'static str {
        F::NAME
    }

    fn signature(&self) -> FunctionSignature {
        signature::<F>()
    }

    fn call(&self, args: Vec<Value>) -> Result<Value, FunctionError> {
        let sig = signature::<F>();
        if args.len() < sig.parameters.len()
            || (sig.variadic.is_none() && args.len() > sig.parameters.len())
        {
            return Err(FunctionError::new(format!(
                "{} takes {}{} arguments, got {}",
                F::NAME,
                sig.parameters.len(),
                if sig.variadic.is_some() {
                    " or more"
                } else {
                    ""
                },
                args.len()
            )));
        }
        let mut args = args.into_iter();
        let mut object: std::collections::BTreeMap<String, Value> = sig
            .parameters
            .iter()
            .map(|p| (p.name.clone(), args.next().expect("counted")))
            .collect();
        if let Some(v) = &sig.variadic {
            object.insert(v.name.clone(), Value::List(args.collect()));
        }
        let (model, diags) = crate::model::check_config::<F::Args>(&Value::Object(object), |_| {
            Diagnostics::default()
        });
        let model = match model {
            Some(m) if !diags.has_errors() => m,
            _ => return Err(function_error(&diags, &sig)),
        };
        self.0
            .call(model)
            .map(|r| r.to_value())
            .map_err(|d| function_error(&d, &sig))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::AttrPath;
    use crate::model::Tf;
    use crate::validate::Invalid;

    /// Joins words with a separator.
    #[derive(crate::model::Model, Debug)]
    struct JoinArgs {
        /// The separator.
        #[tf(required, validate = short)]
        separator: Tf<String>,
        /// The words.
        #[tf(required)]
        words: Tf<Vec<Tf<String>>>,
    }

    fn short(s: &String) -> Result<(), Invalid> {
        if s.len() > 3 {
            Err(Invalid::new("Separator too long", "at most 3 characters."))
        } else {
            Ok(())
        }
    }

    struct Join;

    impl Function for Join {
        const NAME: &'static str = "join";
        const SUMMARY: &'static str = "Joins words";
        const VARIADIC: bool = true;
        type Args = JoinArgs;
        type Return = String;

        fn call(&self, args: JoinArgs) -> Result<String, Diagnostics> {
            let words = args.words.known_items().unwrap_or_default();
            let mut d = Diagnostics::default();
            for (i, w) in words.iter().enumerate() {
                if w.is_empty() {
                    d.error_at(
                        AttrPath::root("words").index(i),
                        "Empty word",
                        "Words must not be empty.",
                    );
                }
            }
            if d.has_errors() {
                return Err(d);
            }
            Ok(words.join(args.separator.as_deref().unwrap()))
        }
    }

    #[test]
    fn the_signature_comes_from_the_model() {
        let sig = signature::<Join>();
        assert_eq!(sig.description, "Joins words with a separator.");
        assert_eq!(sig.parameters.len(), 1);
        assert_eq!(sig.parameters[0].name, "separator");
        assert!(!sig.parameters[0].allow_null);
        let v = sig.variadic.unwrap();
        assert_eq!((v.name.as_str(), &v.ty), ("words", &Type::String));
        assert_eq!(sig.return_type, Type::String);
    }

    #[test]
    fn a_call_decodes_the_arguments_and_variadic_ones_into_the_model() {
        let h = handler(Join);
        let out = h.call(vec![
            Value::string("-"),
            Value::string("a"),
            Value::string("b"),
        ]);
        assert_eq!(out, Ok(Value::string("a-b")));
        assert_eq!(h.call(vec![Value::string("-")]), Ok(Value::string("")));
    }

    #[test]
    fn errors_name_the_argument_by_index() {
        let h = handler(Join);
        let e = h
            .call(vec![Value::string("----"), Value::string("a")])
            .unwrap_err();
        assert_eq!(e.argument, Some(0));
        assert_eq!(e.text, "Separator too long: at most 3 characters");
        // The third argument is the variadic parameter's second element.
        let e = h
            .call(vec![
                Value::string("-"),
                Value::string("a"),
                Value::string(""),
            ])
            .unwrap_err();
        assert_eq!(e.argument, Some(2));
        assert_eq!(e.text, "Empty word: Words must not be empty");
        let e = h.call(vec![]).unwrap_err();
        assert_eq!(e.argument, None);
    }

    #[test]
    fn an_error_below_an_argument_names_the_element() {
        /// Takes a list.
        #[derive(crate::model::Model, Debug)]
        struct ListArgs {
            #[tf(required)]
            items: Tf<Vec<Tf<String>>>,
        }
        let sig = FunctionSignature {
            summary: String::new(),
            description: String::new(),
            parameters: vec![FunctionParameter {
                name: "items".into(),
                ty: Type::list(Type::String),
                description: String::new(),
                allow_null: false,
            }],
            variadic: None,
            return_type: Type::String,
        };
        let d: Diagnostics = Diagnostic::error("Bad item", "no.")
            .at(AttrPath::root("items").index(3))
            .into();
        let e = function_error(&d, &sig);
        assert_eq!(
            (e.argument, e.text.as_str()),
            (Some(0), "element 3: Bad item: no")
        );
        let _ = ListArgs::block();
    }
}

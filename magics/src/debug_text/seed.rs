//! Reads a value text by its [`Shape`]: a serde `DeserializeSeed` that asks
//! the deserializer (serde_json's or RON's) for what the type says — a
//! struct, an enum and which variant, an option, a map — so the names JSON
//! and RON leave out or write in their own ways come back as Rust's
//! [`Node`]s. Where the shape is [`Shape::Unknown`], the value is read as
//! its text has it.

use serde::de::{self, DeserializeSeed, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};

use super::Node;
use super::shape::{Def, Defs, Fields, Shape};

/// Reads one value of `shape`.
#[derive(Clone, Copy)]
pub(super) struct Read<'a> {
    pub shape: &'a Shape,
    pub defs: &'a Defs,
}

impl<'a> Read<'a> {
    fn of(&self, shape: &'a Shape) -> Read<'a> {
        Read {
            shape,
            defs: self.defs,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Read<'_> {
    type Value = Node;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        match self.shape {
            Shape::Bool => d.deserialize_bool(Any),
            Shape::Int { signed: true } => d.deserialize_i128(Any),
            Shape::Int { signed: false } => d.deserialize_u128(Any),
            Shape::Float => d.deserialize_f64(Any),
            // JSON writes a char as a string of one.
            Shape::Char => d.deserialize_char(Any).map(|n| match n {
                Node::Str(s) if s.chars().count() == 1 => {
                    s.chars().next().map_or(Node::Str(s), Node::Char)
                }
                n => n,
            }),
            Shape::Str => d.deserialize_string(Any),
            Shape::Unit => d.deserialize_unit(Any),
            Shape::Option(inner) => d.deserialize_option(OptionOf(self.of(inner))),
            Shape::Seq(inner) => d.deserialize_seq(SeqOf::same(self.of(inner), Node::List)),
            Shape::Set(inner) => d.deserialize_seq(SeqOf::same(self.of(inner), Node::Set)),
            Shape::Array(inner, n) => {
                d.deserialize_tuple(*n, SeqOf::same(self.of(inner), Node::List))
            }
            Shape::Tuple(items) => d.deserialize_tuple(
                items.len(),
                SeqOf {
                    read: self,
                    items: Some(items),
                    make: Node::Tuple,
                },
            ),
            Shape::Map(k, v) => d.deserialize_map(MapOf(self.of(k), self.of(v))),
            Shape::Named(key) => match self.defs.get(key) {
                Some(Def::Struct(name, fields)) => {
                    let visit = FieldsOf {
                        read: self,
                        name,
                        fields,
                    };
                    match fields {
                        Fields::Named(_) => d.deserialize_struct(name, fields.names(), visit),
                        Fields::Tuple(f) if f.len() == 1 => {
                            d.deserialize_newtype_struct(name, visit)
                        }
                        Fields::Tuple(f) => d.deserialize_tuple_struct(name, f.len(), visit),
                        Fields::Unit => d.deserialize_unit_struct(name, visit),
                    }
                }
                Some(Def::Enum(name, variants)) => {
                    let names =
                        super::shape::intern_list(variants.iter().map(|(v, _)| *v).collect());
                    d.deserialize_enum(
                        name,
                        names,
                        EnumOf {
                            read: self,
                            variants,
                        },
                    )
                }
                Some(Def::Alias) | None => d.deserialize_any(Any),
            },
            Shape::Unknown => d.deserialize_any(Any),
        }
    }
}

/// A value as its text has it: scalars, and lists and maps of them.
struct Any;

impl<'de> Visitor<'de> for Any {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Int(v.to_string()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Int(v.to_string()))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Node, E> {
        Ok(Node::Int(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_char<E>(self, v: char) -> Result<Node, E> {
        Ok(Node::Char(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Unit)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::None)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(Any).map(|n| Node::Some(Box::new(n)))
    }
    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(Any)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(n) = seq.next_element_seed(AnySeed)? {
            items.push(n);
        }
        Ok(Node::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = map.next_key_seed(AnySeed)? {
            entries.push((k, map.next_value_seed(AnySeed)?));
        }
        Ok(Node::Map(entries))
    }
}

/// [`Any`] as a seed.
struct AnySeed;

impl<'de> DeserializeSeed<'de> for AnySeed {
    type Value = Node;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(Any)
    }
}

/// `Some(..)` or `None`.
struct OptionOf<'a>(Read<'a>);

impl<'de> Visitor<'de> for OptionOf<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an option")
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::None)
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::None)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        self.0.deserialize(d).map(|n| Node::Some(Box::new(n)))
    }
}

/// A sequence: every element of one shape, or one shape per position.
struct SeqOf<'a> {
    read: Read<'a>,
    items: Option<&'a [Shape]>,
    make: fn(Vec<Node>) -> Node,
}

impl<'a> SeqOf<'a> {
    fn same(read: Read<'a>, make: fn(Vec<Node>) -> Node) -> SeqOf<'a> {
        SeqOf {
            read,
            items: None,
            make,
        }
    }
}

impl<'de> Visitor<'de> for SeqOf<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a sequence")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Node, A::Error> {
        elements(self.read, self.items, seq).map(self.make)
    }
}

/// The elements of `seq`: each of `read`'s shape, or of `items`' shape at
/// its position (a tuple's; past its end, as the text has it).
fn elements<'de, A: SeqAccess<'de>>(
    read: Read<'_>,
    items: Option<&[Shape]>,
    mut seq: A,
) -> Result<Vec<Node>, A::Error> {
    let mut out = Vec::new();
    loop {
        let shape = match items {
            Some(items) => items.get(out.len()).unwrap_or(&Shape::Unknown),
            None => read.shape,
        };
        match seq.next_element_seed(read.of(shape))? {
            Some(n) => out.push(n),
            None => return Ok(out),
        }
    }
}

/// A map's entries.
struct MapOf<'a>(Read<'a>, Read<'a>);

impl<'de> Visitor<'de> for MapOf<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a map")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = map.next_key_seed(self.0)? {
            entries.push((k, map.next_value_seed(self.1)?));
        }
        Ok(Node::Map(entries))
    }
}

/// A struct's or a variant's fields, shown under `name`.
struct FieldsOf<'a> {
    read: Read<'a>,
    name: &'static str,
    fields: &'a Fields,
}

impl<'de> Visitor<'de> for FieldsOf<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "`{}`", self.name)
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Named(self.name.into(), Vec::new()))
    }
    fn visit_newtype_struct<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        let shape = match self.fields {
            Fields::Tuple(f) => f.first().unwrap_or(&Shape::Unknown),
            _ => &Shape::Unknown,
        };
        let inner = self.read.of(shape).deserialize(d)?;
        Ok(Node::Named(self.name.into(), vec![inner]))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Node, A::Error> {
        match self.fields {
            // serde reads a struct from its fields' values in order too.
            Fields::Named(named) => {
                let shapes: Vec<Shape> = named.iter().map(|(_, s)| s.clone()).collect();
                let nodes = elements(self.read, Some(&shapes), seq)?;
                let fields = named
                    .iter()
                    .map(|(n, _)| n.to_string())
                    .zip(nodes)
                    .collect();
                Ok(Node::Struct(self.name.into(), fields))
            }
            Fields::Tuple(f) => {
                let nodes = elements(self.read, Some(f), seq)?;
                Ok(Node::Named(self.name.into(), nodes))
            }
            Fields::Unit => Err(de::Error::invalid_length(0, &self)),
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let named: &[(&str, Shape)] = match self.fields {
            Fields::Named(f) => f,
            _ => &[],
        };
        let mut fields = Vec::new();
        while let Some(key) = map.next_key_seed(Identifier)? {
            let shape = named
                .iter()
                .find(|(n, _)| *n == key)
                .map_or(&Shape::Unknown, |(_, s)| s);
            fields.push((key, map.next_value_seed(self.read.of(shape))?));
        }
        // An `Option` the text leaves out (`skip_serializing_if`) is `None`.
        for (n, shape) in named {
            if matches!(shape, Shape::Option(_)) && !fields.iter().any(|(k, _)| k == n) {
                fields.push((n.to_string(), Node::None));
            }
        }
        // In the definition's order, whatever order the text has.
        fields.sort_by_key(|(k, _)| named.iter().position(|(n, _)| n == k));
        Ok(Node::Struct(self.name.into(), fields))
    }
}

/// An identifier: a field's or a variant's name.
struct Identifier;

impl<'de> DeserializeSeed<'de> for Identifier {
    type Value = String;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for Identifier {
    type Value = String;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a name")
    }
    fn visit_str<E>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
}

/// An enum's value: which variant, then its fields.
struct EnumOf<'a> {
    read: Read<'a>,
    variants: &'a [(&'static str, Fields)],
}

impl<'de> Visitor<'de> for EnumOf<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an enum")
    }
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Node, A::Error> {
        let (name, variant) = data.variant_seed(Identifier)?;
        let Some((name, fields)) = self.variants.iter().find(|(v, _)| *v == name) else {
            return Err(de::Error::unknown_variant(&name, &[]));
        };
        let visit = FieldsOf {
            read: self.read,
            name,
            fields,
        };
        match fields {
            Fields::Unit => variant
                .unit_variant()
                .map(|()| Node::Named((*name).into(), Vec::new())),
            Fields::Tuple(f) if f.len() == 1 => {
                let inner = variant.newtype_variant_seed(self.read.of(&f[0]))?;
                Ok(Node::Named((*name).into(), vec![inner]))
            }
            Fields::Tuple(f) => variant.tuple_variant(f.len(), visit),
            Fields::Named(_) => variant.struct_variant(fields.names(), visit),
        }
    }
}

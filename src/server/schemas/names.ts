// Names in paths and bodies: a chain's or a variant's name is lowercase letters, digits, _ and -, up to 64,
// as chains/ names them, so that a mistyped name is a 400 before any lookup.
export const NAME = "^[a-z0-9][a-z0-9_-]{0,63}$";

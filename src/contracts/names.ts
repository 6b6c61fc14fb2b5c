// The one rule for names people write and Counsel uses in paths, keys and folders: chains, variants, prompts,
// recipes and tenants. Lowercase letters, digits, `-` and `_`, at most 64, starting with a letter or digit.
export const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

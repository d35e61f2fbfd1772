// ENGINE_ARGS as the engine's argument list, for platforms that set only environment variables (Azure ML):
// a JSON array of strings survives any quoting ('["--model", "${AZUREML_MODEL_DIR}/qwen", "--chat-template",
// "{{ messages }}"]'); anything else is split on whitespace (no quoting). ${NAME} and $NAME are replaced by
// the variable's value in both forms ($$ is a literal $); a variable that is not set stops the start with a
// line naming it. Prints the arguments NUL-separated, for bash's mapfile -d ''.
const raw = process.env.ENGINE_ARGS ?? "";
const fail = (message) => {
  process.stderr.write(`entrypoint: ENGINE_ARGS: ${message}\n`);
  process.exit(2);
};

let words;
if (raw.trimStart().startsWith("[")) {
  try {
    words = JSON.parse(raw);
  } catch (err) {
    fail(`not a JSON array of strings (${err.message})`);
  }
  if (!Array.isArray(words) || !words.every((w) => typeof w === "string" || typeof w === "number"))
    fail("not a JSON array of strings");
  words = words.map(String);
} else {
  words = raw.split(/\s+/).filter(Boolean);
}

const expand = (word) =>
  word.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (match, braced, bare) => {
    if (match === "$$") return "$";
    const name = braced ?? bare;
    const value = process.env[name];
    if (value === undefined) fail(`names $${name}, which is not set`);
    return value;
  });

process.stdout.write(words.map((w) => `${expand(w)}\0`).join(""));

// queryParam reads api-version straight from the query string; it must answer as URLSearchParams does.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { queryParam } from "../../../src/core/http/query.ts";

const test = suite("query");

test("query_param_agrees_with_URLSearchParams", () => {
  const piece = fc.oneof(
    fc.constantFrom(
      "?",
      "api-version",
      "api%2Dversion",
      "api-version=",
      "=",
      "&",
      "+",
      "%",
      "%zz",
      "%E2%82%AC",
      "2025-05-01",
      "a+b",
      "%2B",
    ),
    fc.string({ maxLength: 6 }),
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
      const query = pieces.join("");
      // The constructor drops one leading "?"; ctx.querystring has already lost the URL's own, so a
      // second one belongs to the key (as in a URL's searchParams): give it one to drop.
      const expected = new URLSearchParams(`?${query}`).get("api-version") ?? undefined;
      assert.is(queryParam(query, "api-version"), expected, JSON.stringify(query));
    }),
    { numRuns: 5000 },
  );
});

test("query_param_takes_the_first_of_repeated_values", () => {
  assert.is(queryParam("api-version=2025-05-01&api-version=2024-05-01-preview", "api-version"), "2025-05-01");
  assert.is(queryParam("x=1&api-version", "api-version"), "");
  assert.is(queryParam("", "api-version"), undefined);
  // "/chat/completions??api-version=…": the query is "?api-version=…", whose key is "?api-version".
  assert.is(queryParam("?api-version=2025-05-01", "api-version"), undefined);
  assert.is(new URL("http://h/chat/completions??api-version=2025-05-01").searchParams.get("api-version"), null);
});

test.run();

// The one rule for the model the flags' engine is asked for (core/deployments/request.ts pickServed), in
// every dialect: one row per case.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { pickServed } from "../../../src/core/deployments/request.ts";
import { GatewayError } from "../../../src/core/errors.ts";

const test = suite("model-rule");
type Case = [
  name: string,
  served: string[],
  named: string | undefined,
  header: string | undefined,
  expected: string | undefined | "404",
];

const CASES: Case[] = [
  ["a_served_name_is_itself", ["a/one", "b/two"], "b/two", undefined, "b/two"],
  ["any_name_stands_for_a_single_served_model", ["only/one"], "my-deployment", undefined, "only/one"],
  ["no_name_is_the_first_served", ["a/one", "b/two"], undefined, undefined, "a/one"],
  ["a_header_that_names_a_served_model_picks_it", ["a/one", "b/two"], undefined, "b/two", "b/two"],
  ["a_header_that_names_nothing_is_ignored", ["a/one", "b/two"], undefined, "blue", "a/one"],
  ["the_body_wins_over_the_header", ["a/one", "b/two"], "a/one", "b/two", "a/one"],
  ["an_unknown_name_among_several_is_a_404", ["a/one", "b/two"], "c/three", undefined, "404"],
  ["an_engine_without_a_list_gets_the_name", [], "x", undefined, "x"],
  ["an_engine_without_a_list_and_no_name", [], undefined, undefined, undefined],
];

for (const [name, served, named, header, expected] of CASES) {
  test(name, () => {
    if (expected === "404") {
      assert.throws(
        () => pickServed(served, named, header, "ModelNotFound"),
        (e: GatewayError) => e.code === "ModelNotFound" && /Served: a\/one, b\/two/.test(e.message),
      );
    } else assert.is(pickServed(served, named, header, "ModelNotFound"), expected);
  });
}

test.run();

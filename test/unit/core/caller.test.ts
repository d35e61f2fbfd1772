// The caller of a request and the owner of what it stores, decided in one place from the credentials that
// authenticate (issue 32): every combination of `api-key`, `Authorization: Bearer` (a key or an Entra token)
// and none, on a gateway with consumers, `--api-key` keys and Entra ID, and on an open one.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  type Access,
  consumerOfClaims,
  createAccess,
  decideCaller,
  OPEN_OWNER,
  ownerKey,
  type SentCredentials,
} from "../../../src/core/consumers/access.ts";
import { type ConsumerSpec, sha256 } from "../../../src/core/consumers/consumers-file.ts";
import type { EntraClaims } from "../../../src/core/consumers/entra.ts";
import { GatewayError } from "../../../src/core/errors.ts";

const test = suite("caller");

const consumer = (name: string, keys: string[], entra?: ConsumerSpec["entra"]): ConsumerSpec => ({
  name,
  keyDigests: keys.map(sha256),
  ...(entra ? { entra } : {}),
  limits: {},
});
const TEAM_A = consumer("team-a", ["team-a-key"]);
const TEAM_B = consumer("team-b", ["team-b-key"]);
const APPS = consumer("apps", [], { appIds: ["app-1"], roles: [], objectIds: [] });
const READERS = consumer("readers", [], { appIds: [], roles: ["Read"], objectIds: [] });
const WRITERS = consumer("writers", [], { appIds: [], roles: ["Write"], objectIds: [] });
const PEOPLE = consumer("people", [], { appIds: [], roles: [], objectIds: ["oid-1"] });

// JWT-shaped tokens; the verifier stands in for the issuer's signature check (test/integration/entra.test.ts
// runs a real one): it answers the claims each token carries, or refuses.
const jwt = (name: string) => `eyJ${name}.eyJpayload.c2ln`;
const TOKENS: Record<string, EntraClaims> = {
  [jwt("app")]: { azp: "app-1" },
  [jwt("reader")]: { azp: "unlisted", roles: ["Read"] },
  [jwt("appAndReader")]: { azp: "app-1", roles: ["Read"] },
  [jwt("oidAndReader")]: { azp: "unlisted", oid: "oid-1", roles: ["Read"] },
  [jwt("twoRoles")]: { azp: "unlisted", roles: ["Read", "Write"] },
  [jwt("unmapped")]: { azp: "unlisted" },
};
const verifier = {
  async verify(token: string) {
    const claims = TOKENS[token];
    if (!claims) throw new Error("signature not valid");
    return claims;
  },
};
const GUARDED: Access = createAccess(
  { consumers: [TEAM_A, TEAM_B, READERS, WRITERS, APPS, PEOPLE], failClosed: false },
  ["gateway-key", "gateway-key-2"],
  verifier,
);
const OPEN: Access = createAccess(undefined, []);

const owner = (name: string) => ownerKey(`consumer:${name}`);
type Expected = { consumer: string | undefined; owner: string } | { status: number; code: string };
const CASES: Array<[string, Access, SentCredentials, Expected]> = [
  [
    "none_on_a_guarded_gateway",
    GUARDED,
    { apiKey: undefined, bearer: undefined },
    { status: 401, code: "Unauthorized" },
  ],
  [
    "api_key_only",
    GUARDED,
    { apiKey: "team-a-key", bearer: undefined },
    { consumer: "team-a", owner: owner("team-a") },
  ],
  [
    "bearer_key_only",
    GUARDED,
    { apiKey: undefined, bearer: "team-a-key" },
    { consumer: "team-a", owner: owner("team-a") },
  ],
  [
    "both_agreeing",
    GUARDED,
    { apiKey: "team-a-key", bearer: "team-a-key" },
    { consumer: "team-a", owner: owner("team-a") },
  ],
  ["both_disagreeing", GUARDED, { apiKey: "team-a-key", bearer: "team-b-key" }, { status: 401, code: "Unauthorized" }],
  [
    "gateway_key_and_a_consumer_key",
    GUARDED,
    { apiKey: "team-a-key", bearer: "gateway-key" },
    { status: 401, code: "Unauthorized" },
  ],
  [
    "two_different_gateway_keys",
    GUARDED,
    { apiKey: "gateway-key", bearer: "gateway-key-2" },
    { status: 401, code: "Unauthorized" },
  ],
  // The probe's hole: a gateway key authenticates, the other header is chosen to hash to a consumer's owner.
  [
    "gateway_key_beside_an_unauthenticated_api_key",
    GUARDED,
    { apiKey: "consumer:team-a", bearer: "gateway-key" },
    { consumer: undefined, owner: ownerKey("gateway-key") },
  ],
  [
    "consumer_key_beside_a_placeholder_bearer",
    GUARDED,
    { apiKey: "team-b-key", bearer: "placeholder" },
    { consumer: "team-b", owner: owner("team-b") },
  ],
  ["unknown_key", GUARDED, { apiKey: "nobody", bearer: undefined }, { status: 401, code: "Unauthorized" }],
  ["entra_token_only", GUARDED, { apiKey: undefined, bearer: jwt("app") }, { consumer: "apps", owner: owner("apps") }],
  ["entra_token_invalid", GUARDED, { apiKey: undefined, bearer: jwt("forged") }, { status: 401, code: "Unauthorized" }],
  ["entra_token_unmapped", GUARDED, { apiKey: undefined, bearer: jwt("unmapped") }, { status: 403, code: "Forbidden" }],
  [
    "entra_token_two_roles",
    GUARDED,
    { apiKey: undefined, bearer: jwt("twoRoles") },
    { status: 403, code: "Forbidden" },
  ],
  [
    "entra_token_plus_its_consumers_agreeing_key",
    createAccess({ consumers: [{ ...APPS, keyDigests: [sha256("apps-key")] }], failClosed: false }, [], verifier),
    { apiKey: "apps-key", bearer: jwt("app") },
    { consumer: "apps", owner: owner("apps") },
  ],
  [
    "entra_token_plus_another_consumers_key",
    GUARDED,
    { apiKey: "team-a-key", bearer: jwt("app") },
    { status: 401, code: "Unauthorized" },
  ],
  [
    "invalid_entra_token_plus_a_valid_key",
    GUARDED,
    { apiKey: "team-a-key", bearer: jwt("forged") },
    { consumer: "team-a", owner: owner("team-a") },
  ],
  [
    "invalid_key_plus_a_valid_token",
    GUARDED,
    { apiKey: "nobody", bearer: jwt("reader") },
    { consumer: "readers", owner: owner("readers") },
  ],
  ["open_gateway_none", OPEN, { apiKey: undefined, bearer: undefined }, { consumer: undefined, owner: OPEN_OWNER }],
  [
    "open_gateway_any_key_is_the_one_owner",
    OPEN,
    { apiKey: "anything", bearer: "else" },
    { consumer: undefined, owner: OPEN_OWNER },
  ],
];

for (const [name, access, sent, expected] of CASES)
  test(name, async () => {
    const decided = await decideCaller(access, sent).then(
      (caller) => ({ consumer: caller.consumer?.name, owner: caller.owner }),
      (err: unknown) => {
        assert.instance(err, GatewayError);
        return { status: (err as GatewayError).status, code: (err as GatewayError).code };
      },
    );
    assert.equal(decided, expected);
  });

// What a refusal tells the client: a token that was tried and failed is named (`invalid_token`), unless a
// key was sent too (the key is what failed then); a JWT-shaped bearer on a gateway without Entra ID is a key.
const NO_ENTRA: Access = createAccess({ consumers: [TEAM_A], failClosed: false }, []);
const CHALLENGES: Array<[string, Access, SentCredentials, number, string]> = [
  ["unknown_key", GUARDED, { apiKey: "nobody", bearer: undefined }, 401, "Bearer"],
  ["invalid_token_alone", GUARDED, { apiKey: undefined, bearer: jwt("forged") }, 401, 'Bearer error="invalid_token"'],
  ["invalid_token_beside_an_unknown_key", GUARDED, { apiKey: "nobody", bearer: jwt("forged") }, 401, "Bearer"],
  ["unmapped_token_beside_an_unknown_key", GUARDED, { apiKey: "nobody", bearer: jwt("unmapped") }, 401, "Bearer"],
  ["jwt_shaped_bearer_without_entra", NO_ENTRA, { apiKey: undefined, bearer: jwt("app") }, 401, "Bearer"],
];
for (const [name, access, sent, status, challenge] of CHALLENGES)
  test(`challenge_${name}`, async () => {
    const err = await decideCaller(access, sent).then(
      () => undefined,
      (e: unknown) => e as GatewayError,
    );
    assert.instance(err, GatewayError);
    assert.equal([err!.status, err!.headers["www-authenticate"]], [status, challenge]);
  });

// Entra's rules in their documented order, whatever the file's order: application, then object id, then roles.
const CLAIMS: Array<[string, EntraClaims, string | undefined]> = [
  ["application_before_a_role_of_an_earlier_consumer", { azp: "app-1", roles: ["Read"] }, "apps"],
  ["v1_appid", { appid: "app-1" }, "apps"],
  ["object_id_before_a_role", { azp: "x", oid: "oid-1", roles: ["Read"] }, "people"],
  ["role", { azp: "x", roles: ["Write"] }, "writers"],
  ["nothing_listed", { azp: "x", oid: "y", roles: ["Other"] }, undefined],
];
for (const [name, claims, expected] of CLAIMS)
  test(`entra_${name}`, () => {
    const found = consumerOfClaims([READERS, WRITERS, PEOPLE, APPS], claims);
    assert.is(found && !("ambiguous" in found) ? found.name : undefined, expected);
  });
test("entra_two_consumers_by_roles_is_ambiguous", () => {
  assert.equal(consumerOfClaims([READERS, WRITERS], { roles: ["Read", "Write"] }), {
    ambiguous: ["readers", "writers"],
  });
});

test.run();

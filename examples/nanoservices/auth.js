// Checks `Authorization: Bearer <token>`. Answers 200 with the user name, or 401.
export default {
  fetch(request, env) {
    const expected = env.TOKEN ?? "demo-token";
    const header = request.headers.get("authorization") ?? "";
    if (header !== `Bearer ${expected}`) return new Response("bad token", { status: 401 });
    return new Response("demo-user");
  },
};

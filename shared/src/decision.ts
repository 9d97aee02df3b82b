// The one shape of a policy verdict (the broker's ACL, the agent's command checks): allowed, with whatever the
// caller needs next, or refused, with a stable reason code and whatever explains it. Policy functions return it
// and never throw.
type Nothing = Record<never, never>;

export type Decision<Reason extends string, Allowed extends object = Nothing, Refused extends object = Nothing> =
  | (Readonly<Allowed> & { readonly allow: true })
  | (Readonly<Refused> & { readonly allow: false; readonly reason: Reason });

import { prefixText } from './ip/schema.ts';

/**
 * A subnet route a node advertises or an admin approves: a CIDR prefix with host bits clear,
 * without an IPv4 tail in IPv6, in any valid spelling (the server stores the canonical one).
 * A refusal answers `route.malformed`.
 */
export const Route = prefixText({ bareAddress: false, ipv4Tail: false }, 'route.malformed');

/** A route to everywhere in its family: it makes the node an exit node. Routes are canonical text. */
export const isExitRoute = (route: string): boolean => route === '0.0.0.0/0' || route === '::/0';

import { CodedError } from '../../protocol/coded-error.ts';
import type { ClientCode } from '../error-codes.ts';

/**
 * A subnet route a peer offers that this machine will not route, because it would take away
 * something the machine needs outside the tunnel. Reported in `trellis status` (and logged),
 * not thrown: the other routes and the rest of the map still apply.
 */
export class RouteRefusal extends CodedError<ClientCode<'routes'>> {
  override readonly name = 'RouteRefusal';
  constructor(
    code: ClientCode<'routes'>,
    message: string,
    readonly prefix: string,
  ) {
    super(code, message);
  }
}

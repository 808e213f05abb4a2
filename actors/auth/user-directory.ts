/**
 * Finding a person by name (`GET /v1/users?username=`, docs/protocol.md): an exact username
 * answers that user's public part, anything else `not_found`. There is no prefix or partial
 * match, and look-ups are rate limited per caller (lookup-limiter.ts), so the directory cannot
 * be walked.
 */
import { TroupeError } from '../../transport/errors.js';
import type { Store } from '../../transport/store/port.js';
import { isValidUsername, USERNAME_RULE } from './auth-requests.js';
import { userDto, type UserDto } from './auth-service.js';
import type { LookupLimiter } from './lookup-limiter.js';

export class UserDirectory {
  constructor(
    private readonly store: Store,
    private readonly limiter: LookupLimiter,
  ) {}

  /**
   * The user named `username` (the query value, null when absent), looked up for `callerId`.
   * A value that breaks the username rule is `invalid_argument` and not counted: it names
   * nobody, and the answer says so without a query.
   */
  async findByUsername(callerId: string, username: string | null): Promise<UserDto> {
    if (username === null || !isValidUsername(username)) throw new TroupeError('invalid_argument', USERNAME_RULE);
    await this.limiter.take(callerId);
    const user = await this.store.getUserByUsername(username);
    if (user === null) throw new TroupeError('not_found', 'no such user');
    return userDto(user);
  }
}

import { createAccounts, REMOTE_PROFILE_TTL_MS } from '../../src/accounts/accounts.js';
import { openDatabase, type OpenedDatabase } from '../../src/store/database.js';
import { getUserByNexusId } from '../../src/store/views/users.js';
import { FakeClock } from '../federation/federation-harness.js';
import { testDatabaseOptions } from '../helpers/databases.js';

// Accounts' side of remote profiles: which remote users' profiles are wanted (never learnt,
// or older than the TTL), how learnt profiles are stored, and local renames.

describe.each(testDatabaseOptions())('accounts and profiles on $name', ({ options }) => {
  let database: OpenedDatabase;
  beforeAll(async () => {
    database = await openDatabase(await options());
  });
  afterAll(async () => {
    await database?.close();
  });

  let n = 0; // snowflakes unique across the accounts of every test (one database)
  function accountsFor(serverName: string) {
    const clock = new FakeClock();
    const wanted: string[][] = [];
    const changed: string[][] = [];
    const accounts = createAccounts({
      db: database.db, clock, serverName,
      newSnowflake: () => (BigInt('900000000000000000') + BigInt(++n)).toString(),
      passwordCost: { N: 2 ** 10, r: 8, p: 1 },
      wantProfiles: (ids) => wanted.push([...ids].sort()),
      onProfilesChanged: (ids) => changed.push([...ids].sort()),
    });
    return { clock, accounts, wanted, changed };
  }

  it('wants the profiles of remote users never learnt or older than the TTL, and no one else\'s', async () => {
    const { clock, accounts, wanted } = accountsFor('home.test');
    await accounts.ensureRemoteUsers(['@a:far.test', '@b:far.test', '@me:home.test', 'junk']);
    expect(wanted).toEqual([['@a:far.test', '@b:far.test']]);
    expect(await getUserByNexusId(database.db, '@a:far.test')).toMatchObject({ username: 'a', local: false, display_name: null });

    expect(await accounts.storeRemoteProfiles(new Map([['@a:far.test', 'Ann']]), clock.now())).toEqual(['@a:far.test']);
    wanted.length = 0;
    await accounts.ensureRemoteUsers(['@a:far.test', '@b:far.test']);
    expect(wanted).toEqual([['@b:far.test']]); // b was never learnt: still wanted
    clock.advance(REMOTE_PROFILE_TTL_MS);
    wanted.length = 0;
    await accounts.ensureRemoteUsers(['@a:far.test']);
    expect(wanted).toEqual([['@a:far.test']]);

    // A fresh process (no memory) reads the same from the rows.
    const again = accountsFor('home.test');
    again.clock.t = clock.now() - REMOTE_PROFILE_TTL_MS + 1;
    await again.accounts.ensureRemoteUsers(['@a:far.test', '@b:far.test']);
    expect(again.wanted).toEqual([['@b:far.test']]);
  });

  it('stores only remote users it knows, reports real changes, and keeps a profile newer than the question', async () => {
    const { clock, accounts, changed } = accountsFor('home2.test');
    const local = await accounts.register({ username: 'Local', password: 'correct horse battery' });
    await accounts.ensureRemoteUsers(['@c:far2.test']);
    const t0 = clock.now();

    const stored = await accounts.storeRemoteProfiles(new Map([['@c:far2.test', 'Cee'], ['@unknown:far2.test', 'U'], [local.user.nexus_id, 'Hijacked']]), t0);
    expect(stored).toEqual(['@c:far2.test']);
    expect(await getUserByNexusId(database.db, '@unknown:far2.test')).toBeUndefined();
    expect((await getUserByNexusId(database.db, local.user.nexus_id))!.display_name).toBeNull();
    expect(await accounts.storeRemoteProfiles(new Map([['@c:far2.test', 'Cee']]), t0 + 1)).toEqual([]); // same name: no change

    // An EDU at t0+10 says "Cee 2"; then the answer to a query asked at t0+5 arrives: the EDU stands.
    clock.advance(10);
    expect(await accounts.storeRemoteProfiles(new Map([['@c:far2.test', 'Cee 2']]), clock.now())).toEqual(['@c:far2.test']);
    expect(await accounts.storeRemoteProfiles(new Map([['@c:far2.test', 'Stale']]), t0 + 5, { unlessNewerThan: t0 + 5 })).toEqual([]);
    expect((await getUserByNexusId(database.db, '@c:far2.test'))!.display_name).toBe('Cee 2');
    expect(await accounts.storeRemoteProfiles(new Map([['@c:far2.test', null]]), t0 + 20, { unlessNewerThan: t0 + 20 })).toEqual(['@c:far2.test']);
    expect(changed).toEqual([['@c:far2.test'], ['@c:far2.test'], ['@c:far2.test']]);
  });

  it('renames a local user, and the token lookup shows the new name at once', async () => {
    const { accounts, changed } = accountsFor('home3.test');
    const { user, token } = await accounts.register({ username: 'dee', password: 'correct horse battery' });
    expect((await accounts.authenticate(token))!.display_name).toBeNull(); // now cached
    expect((await accounts.setDisplayName(user.id, 'Dee'))!.display_name).toBe('Dee');
    expect((await accounts.authenticate(token))!.display_name).toBe('Dee');
    expect(await accounts.setDisplayName(user.id, 'Dee')).toMatchObject({ display_name: 'Dee' });
    expect(changed).toEqual([['@dee:home3.test']]); // the second call changed nothing
    await accounts.ensureRemoteUsers(['@eve:far3.test']);
    const eve = (await getUserByNexusId(database.db, '@eve:far3.test'))!;
    expect(await accounts.setDisplayName(eve.id, 'Not yours')).toBeUndefined();
  });
});

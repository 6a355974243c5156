import { makePostgresStore } from '../support/postgres';
import { describeStoreContract } from '../support/store-contract';

// Each store in a fresh database of its own on the tests' server (scripts/ensure-postgres.sh).
describeStoreContract('PostgreSQL', makePostgresStore);

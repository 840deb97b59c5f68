// The one msgpackr configuration for what the store puts into the log and into snapshots (commands,
// auth changes, store and auth state): plain maps and arrays, no record structures and no extension
// types, so what one member encodes any other decodes without shared state.
import { Packr } from 'msgpackr';

export const packr = new Packr({ useRecords: false, moreTypes: false });

// Signal-protocol clients for the relay's black-box tests, on the real libsignal
// (@signalapp/libsignal-client, a test-only dependency: AGPL, never linked into or shipped
// with the app). Keys and sessions live in memory; the server only ever sees base64.
//
// An account holds the identity key; each of its devices holds a registration id, its own
// prekeys and its own sessions. A device makes the PUT /api/v1/keys body, turns the
// GET /api/v1/keys/{user} answer into sessions (X3DH with Kyber: PQXDH), encrypts to relay
// envelopes and decrypts delivered {"type":"message"} frames.
'use strict';

// The package is an ES module: require() of it needs Node.js 20.19 or later.
const S = (() => {
  try {
    return require('@signalapp/libsignal-client');
  } catch (e) {
    if (e.code === 'ERR_REQUIRE_ESM') e.message = `libsignal needs Node.js >= 20.19 (this is ${process.version}): ${e.message}`;
    throw e;
  }
})();

const b64 = (bytes) => Buffer.from(bytes).toString('base64');
const unb64 = (s) => new Uint8Array(Buffer.from(s, 'base64'));
const addrKey = (addr) => `${addr.name()}.${addr.deviceId()}`;

// libsignal's CiphertextMessageType → the relay's envelope type, and back.
const ENVELOPE_OF = { [S.CiphertextMessageType.Whisper]: 1, [S.CiphertextMessageType.PreKey]: 3 };

class Sessions extends S.SessionStore {
  constructor() { super(); this.map = new Map(); }
  async saveSession(addr, record) { this.map.set(addrKey(addr), record.serialize()); }
  async getSession(addr) {
    const bytes = this.map.get(addrKey(addr));
    return bytes ? S.SessionRecord.deserialize(bytes) : null;
  }
  async getExistingSessions(addrs) {
    const out = [];
    for (const a of addrs) {
      const r = await this.getSession(a);
      if (!r) throw new Error(`no session with ${addrKey(a)}`);
      out.push(r);
    }
    return out;
  }
}

// Trust on first use: a peer's identity is taken the first time and must stay the same.
class Identities extends S.IdentityKeyStore {
  constructor(pair, registrationId) {
    super();
    this.pair = pair;
    this.registrationId = registrationId;
    this.known = new Map();
  }
  async getIdentityKey() { return this.pair.privateKey; }
  async getLocalRegistrationId() { return this.registrationId; }
  async saveIdentity(addr, key) {
    const old = this.known.get(addr.name());
    this.known.set(addr.name(), key);
    return old && !old.equals(key) ? S.IdentityChange.ReplacedExisting : S.IdentityChange.NewOrUnchanged;
  }
  async isTrustedIdentity(addr, key) {
    const old = this.known.get(addr.name());
    return !old || old.equals(key);
  }
  async getIdentity(addr) { return this.known.get(addr.name()) || null; }
}

class PreKeys extends S.PreKeyStore {
  constructor() { super(); this.map = new Map(); }
  async savePreKey(id, record) { this.map.set(id, record); }
  async getPreKey(id) {
    const r = this.map.get(id);
    if (!r) throw new Error(`no prekey ${id}`);
    return r;
  }
  async removePreKey(id) { this.map.delete(id); }
}

class SignedPreKeys extends S.SignedPreKeyStore {
  constructor() { super(); this.map = new Map(); }
  async saveSignedPreKey(id, record) { this.map.set(id, record); }
  async getSignedPreKey(id) {
    const r = this.map.get(id);
    if (!r) throw new Error(`no signed prekey ${id}`);
    return r;
  }
}

// One-time Kyber keys are dropped once used; the last-resort key stays.
class KyberPreKeys extends S.KyberPreKeyStore {
  constructor() { super(); this.map = new Map(); this.lastResort = new Set(); this.used = []; }
  async saveKyberPreKey(id, record) { this.map.set(id, record); }
  async getKyberPreKey(id) {
    const r = this.map.get(id);
    if (!r) throw new Error(`no kyber prekey ${id}`);
    return r;
  }
  async markKyberPreKeyUsed(id) {
    this.used.push(id);
    if (!this.lastResort.has(id)) this.map.delete(id);
  }
}

// Key ids of a device: one-time EC keys from 1, one-time Kyber keys from 1001, signed
// prekeys from 1, Kyber last-resort keys from 9001 (Kyber ids of the two kinds never meet).
const KYBER_BASE = 1000;
const LAST_RESORT_ID = 9001;

class Device {
  // account: {userId, identity: IdentityKeyPair}; opts: {deviceId, registrationId,
  // prekeys (one-time EC count), kyberPrekeys (one-time Kyber count)}.
  constructor(account, { deviceId = 1, registrationId, prekeys = 20, kyberPrekeys = 20 } = {}) {
    this.account = account;
    this.deviceId = deviceId;
    this.registrationId = registrationId || 1 + Math.floor(Math.random() * 16380);
    this.sessions = new Sessions();
    this.identities = new Identities(account.identity, this.registrationId);
    this.preKeys = new PreKeys();
    this.signedPreKeys = new SignedPreKeys();
    this.kyberPreKeys = new KyberPreKeys();
    this.nextPrekeyId = 1;
    this.nextKyberId = KYBER_BASE + 1;
    this.upload = null; // every member keysBody() made, the latest of each
    this.counts = { prekeys, kyberPrekeys };
  }

  get address() { return S.ProtocolAddress.new(this.account.userId, this.deviceId); }

  // Makes fresh keys and returns the PUT /api/v1/keys body for them: the identity key, a
  // signed prekey, the device's counts of one-time EC and Kyber prekeys (opts.prekeys and
  // opts.kyberPrekeys override them) and a Kyber last-resort key. opts.only lists the members
  // to make and send (default all); a kind not made keeps its keys here, as on the server.
  async keysBody(opts = {}) {
    const priv = this.account.identity.privateKey;
    const now = Date.now();
    const members = opts.only || ['identity_key', 'signed_prekey', 'one_time_prekeys', 'kyber_prekeys', 'kyber_last_resort'];
    const kyberKey = async (id, lastResort) => {
      const pair = S.KEMKeyPair.generate();
      const sig = priv.sign(pair.getPublicKey().serialize());
      await this.kyberPreKeys.saveKyberPreKey(id, S.KyberPreKeyRecord.new(id, now, pair, sig));
      if (lastResort) this.kyberPreKeys.lastResort.add(id);
      return { key_id: id, public_key: b64(pair.getPublicKey().serialize()), signature: b64(sig) };
    };
    const body = { device_id: this.deviceId };
    for (const m of members) {
      if (m === 'identity_key') {
        body.identity_key = b64(this.account.identity.publicKey.serialize());
      } else if (m === 'signed_prekey') {
        const id = this.nextSignedId = (this.nextSignedId || 0) + 1;
        const k = S.PrivateKey.generate();
        const sig = priv.sign(k.getPublicKey().serialize());
        await this.signedPreKeys.saveSignedPreKey(id, S.SignedPreKeyRecord.new(id, now, k.getPublicKey(), k, sig));
        body.signed_prekey = { key_id: id, public_key: b64(k.getPublicKey().serialize()), signature: b64(sig) };
      } else if (m === 'one_time_prekeys') {
        body.one_time_prekeys = [];
        for (let i = 0; i < (opts.prekeys ?? this.counts.prekeys); i++) {
          const id = this.nextPrekeyId++;
          const k = S.PrivateKey.generate();
          await this.preKeys.savePreKey(id, S.PreKeyRecord.new(id, k.getPublicKey(), k));
          body.one_time_prekeys.push({ key_id: id, public_key: b64(k.getPublicKey().serialize()) });
        }
      } else if (m === 'kyber_prekeys') {
        body.kyber_prekeys = [];
        for (let i = 0; i < (opts.kyberPrekeys ?? this.counts.kyberPrekeys); i++) {
          body.kyber_prekeys.push(await kyberKey(this.nextKyberId++, false));
        }
      } else if (m === 'kyber_last_resort') {
        const id = this.nextLastResortId = (this.nextLastResortId || LAST_RESORT_ID - 1) + 1;
        body.kyber_last_resort = await kyberKey(id, true);
      } else {
        throw new Error(`no such member ${m}`);
      }
    }
    this.upload = { ...this.upload, ...body };
    return body;
  }

  // Takes a GET /api/v1/keys/{userId} answer: checks its signatures, starts a session with
  // each device in it (PQXDH). Returns the libsignal bundles by device id.
  async processBundle(userId, answer) {
    const identityKey = S.PublicKey.deserialize(unb64(answer.identity_key));
    const out = new Map();
    for (const d of answer.devices) {
      const spkPub = S.PublicKey.deserialize(unb64(d.signed_prekey.public_key));
      const spkSig = unb64(d.signed_prekey.signature);
      const kyPub = S.KEMPublicKey.deserialize(unb64(d.kyber_prekey.public_key));
      const kySig = unb64(d.kyber_prekey.signature);
      if (!identityKey.verify(spkPub.serialize(), spkSig)) throw new Error(`bad signed prekey signature, device ${d.device_id}`);
      if (!identityKey.verify(kyPub.serialize(), kySig)) throw new Error(`bad kyber prekey signature, device ${d.device_id}`);
      const bundle = S.PreKeyBundle.new(
        d.registration_id, d.device_id,
        d.prekey ? d.prekey.key_id : null,
        d.prekey ? S.PublicKey.deserialize(unb64(d.prekey.public_key)) : null,
        d.signed_prekey.key_id, spkPub, spkSig,
        identityKey,
        d.kyber_prekey.key_id, kyPub, kySig,
      );
      await S.processPreKeyBundle(bundle, S.ProtocolAddress.new(userId, d.device_id), this.address,
        this.sessions, this.identities);
      out.set(d.device_id, bundle);
    }
    return out;
  }

  // One relay envelope {device_id, registration_id, type, content} for a device of userId
  // with which this device has a session.
  async encrypt(userId, deviceId, plaintext) {
    const addr = S.ProtocolAddress.new(userId, deviceId);
    const session = await this.sessions.getSession(addr);
    if (!session) throw new Error(`no session with ${userId}.${deviceId}`);
    const msg = await S.signalEncrypt(new Uint8Array(Buffer.from(plaintext)), addr, this.address,
      this.sessions, this.identities);
    const type = ENVELOPE_OF[msg.type()];
    if (!type) throw new Error(`unexpected libsignal message type ${msg.type()}`);
    return { device_id: deviceId, registration_id: session.remoteRegistrationId(), type, content: b64(msg.serialize()) };
  }

  // Envelopes for every device of userId this device has a session with (by device id).
  async encryptAll(userId, plaintext) {
    const ids = [];
    for (const k of this.sessions.map.keys()) {
      const at = k.lastIndexOf('.');
      if (k.slice(0, at) === userId) ids.push(Number(k.slice(at + 1)));
    }
    ids.sort((a, b) => a - b);
    const out = [];
    for (const id of ids) out.push(await this.encrypt(userId, id, plaintext));
    return out;
  }

  // Decrypts a delivered {"type":"message","from","from_device","envelope_type","content"}
  // frame; returns the plaintext as a string.
  async decrypt(frame) {
    const addr = S.ProtocolAddress.new(frame.from, frame.from_device);
    const bytes = unb64(frame.content);
    let plain;
    if (frame.envelope_type === 3) {
      plain = await S.signalDecryptPreKey(S.PreKeySignalMessage.deserialize(bytes), addr, this.address,
        this.sessions, this.identities, this.preKeys, this.signedPreKeys, this.kyberPreKeys);
    } else if (frame.envelope_type === 1) {
      plain = await S.signalDecrypt(S.SignalMessage.deserialize(bytes), addr, this.address,
        this.sessions, this.identities);
    } else {
      throw new Error(`cannot decrypt envelope type ${frame.envelope_type}`);
    }
    return Buffer.from(plain).toString('utf8');
  }
}

// An account: a user id (any string; the server's user id) and a fresh identity key pair.
function newAccount(userId) {
  return { userId, identity: S.IdentityKeyPair.generate() };
}

module.exports = { newAccount, Device, b64, unb64, KYBER_BASE, LAST_RESORT_ID, libsignal: S };

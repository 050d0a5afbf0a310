'use strict';
// Plays Teams events at a bot's messaging endpoint on behalf of the
// independent Teams side (lib/teams-side.js): builds each activity as Teams
// sends it (teams-protocol.md §1.4, §1.6; 2026 addendum §3, §4), signs its
// channel token with the side's key, has Microsoft's botbuilder validate
// that token against the side's OpenID metadata (as a botbuilder bot would),
// and only then posts it to the bot. It updates the side's world first
// (who installed the bot where), so the Connector answers the bot's calls
// for the event the way Teams would.

const { ConfigurationBotFrameworkAuthentication } = require('botbuilder');
const { PasswordServiceClientCredentialFactory } = require('botframework-connector');
const { SigningKey } = require('./jwt');
const { CHANNEL_ISSUER } = require('./teams-side');

class Player {
  constructor({ side, botUrl }) {
    this.side = side;
    this.botUrl = botUrl;
    this.impostor = new SigningKey({ endorsements: ['msteams'] }); // never published
    this.validated = 0;
    // botbuilder configured the way a production bot is, every Bot
    // Framework URL pointing at the side.
    this.auth = new ConfigurationBotFrameworkAuthentication(
      {
        MicrosoftAppId: side.appId,
        MicrosoftAppPassword: side.appSecret,
        MicrosoftAppType: 'MultiTenant',
        MicrosoftAppTenantId: '',
        ChannelService: '',
        ValidateAuthority: false,
        ToChannelFromBotLoginUrl: `${side.base}/botframework.com`,
        ToChannelFromBotOAuthScope: 'https://api.botframework.com',
        ToBotFromChannelTokenIssuer: CHANNEL_ISSUER,
        ToBotFromChannelOpenIdMetadataUrl: side.openIdMetadataUrl,
        ToBotFromEmulatorOpenIdMetadataUrl: side.openIdMetadataUrl,
        OAuthUrl: `${side.base}/oauth`,
        CallerId: 'urn:botframework:azure',
      },
      new PasswordServiceClientCredentialFactory(side.appId, side.appSecret)
    );
  }

  // validate asks botbuilder whether it accepts the token for the
  // activity: {accepted, callerId} or {accepted: false, error}.
  async validate(activity, token) {
    try {
      const result = await this.auth.authenticateRequest(activity, `Bearer ${token}`);
      return { accepted: result.claimsIdentity.isAuthenticated === true, callerId: result.callerId };
    } catch (error) {
      return { accepted: false, error };
    }
  }

  // post plays one activity. With forged set, the token is signed by a key
  // the side never published (claiming the published key's id), and
  // botbuilder must refuse it; otherwise botbuilder must accept it before
  // it is posted. Returns {status, body, contentType, botbuilder}.
  async post(activity, { forged = false } = {}) {
    const a = this.complete(activity);
    const token = forged ? this.side.channelToken(a.serviceUrl, this.impostor, this.side.channelKey.kid) : this.side.channelToken(a.serviceUrl);
    const botbuilder = await this.validate(a, token);
    if (!forged) {
      if (!botbuilder.accepted) {
        throw new Error(`botbuilder refused the token of a ${a.type} activity: ${botbuilder.error && botbuilder.error.message}`);
      }
      this.validated++;
      if (a.type === 'message') {
        const at = this.side.resolve(a.conversation.id);
        const threadId = at.conv.kind === 'channel' ? at.root || a.id : undefined;
        this.side.record({ conv: at.conv, id: a.id, threadId, postedTo: a.conversation.id, route: 'inbound', from: 'user', activity: a });
      }
    }
    const res = await fetch(this.botUrl, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json; charset=utf-8',
        'x-ms-conversation-id': a.conversation.id,
        'x-ms-tenant-id': this.side.tenantId,
      },
      body: JSON.stringify(a),
    });
    const text = await res.text();
    const contentType = res.headers.get('content-type') || '';
    let body = text;
    if (contentType.includes('json') && text !== '') body = JSON.parse(text);
    return { status: res.status, body, contentType, botbuilder, activity: a };
  }

  // postAll plays activities in order and returns the statuses.
  async postAll(activities) {
    const out = [];
    for (const a of activities) out.push(await this.post(a));
    return out;
  }

  complete(a) {
    const side = this.side;
    const now = new Date();
    return {
      id: a.id || side.newActivityId(),
      timestamp: now.toISOString(),
      localTimestamp: now.toISOString(),
      channelId: 'msteams',
      serviceUrl: side.serviceUrl,
      recipient: { id: side.botId, name: side.botName },
      locale: 'en-US',
      ...a,
    };
  }

  // --- the activities, as Teams sends them --------------------------------

  account(u) {
    return { id: u.id, name: u.name, aadObjectId: u.aadObjectId };
  }

  tenant() {
    return { tenant: { id: this.side.tenantId } };
  }

  personalConversation(u) {
    return { conversationType: 'personal', tenantId: this.side.tenantId, id: this.side.personalConversation(u) };
  }

  channelConversation(team, channelId) {
    return { isGroup: true, conversationType: 'channel', tenantId: this.side.tenantId, id: channelId };
  }

  chatConversation(chat) {
    return { isGroup: true, conversationType: 'groupChat', tenantId: this.side.tenantId, id: chat.id };
  }

  teamData(team, extra = {}) {
    return { team: { id: team.id, name: team.name, aadGroupId: team.aadGroupId }, ...this.tenant(), ...extra };
  }

  clientInfo() {
    return [{ type: 'clientInfo', locale: 'en-US', country: 'US', platform: 'Web', timezone: 'Europe/Berlin' }];
  }

  // installPersonal: installationUpdate add, then conversationUpdate with
  // the bot and the user added.
  installPersonal(u) {
    u.personalInstalled = true;
    const conversation = this.personalConversation(u);
    return this.postAll([
      { type: 'installationUpdate', action: 'add', from: this.account(u), conversation, channelData: this.tenant(), entities: this.clientInfo() },
      { type: 'conversationUpdate', from: this.account(u), conversation, channelData: this.tenant(),
        membersAdded: [{ id: this.side.botId }, { id: u.id, aadObjectId: u.aadObjectId }] },
    ]);
  }

  uninstallPersonal(u) {
    u.personalInstalled = false;
    const conversation = this.personalConversation(u);
    return this.postAll([
      { type: 'installationUpdate', action: 'remove', from: this.account(u), conversation, channelData: this.tenant(), entities: this.clientInfo() },
      { type: 'conversationUpdate', from: this.account(u), conversation, channelData: this.tenant(), membersRemoved: [{ id: this.side.botId }] },
    ]);
  }

  // installTeam: the conversation is the channel the installer selected.
  installTeam(team, channelId, by) {
    team.installed = true;
    const ch = team.channels.find((c) => c.id === channelId);
    const conversation = this.channelConversation(team, channelId);
    const selected = { settings: { selectedChannel: { id: channelId } } };
    return this.postAll([
      { type: 'installationUpdate', action: 'add', from: this.account(by), conversation, entities: this.clientInfo(),
        channelData: this.teamData(team, { ...selected, channel: { id: channelId, name: ch.name || undefined }, source: { name: 'message' } }) },
      { type: 'conversationUpdate', from: this.account(by), conversation, membersAdded: [{ id: this.side.botId }],
        channelData: this.teamData(team, { ...selected, eventType: 'teamMemberAdded' }) },
    ]);
  }

  // uninstallTeam: on removal the conversation is the team.
  uninstallTeam(team, by) {
    team.installed = false;
    const conversation = this.channelConversation(team, team.id);
    return this.postAll([
      { type: 'installationUpdate', action: 'remove', from: this.account(by), conversation, entities: this.clientInfo(), channelData: this.teamData(team) },
      { type: 'conversationUpdate', from: this.account(by), conversation, membersRemoved: [{ id: this.side.botId }],
        channelData: this.teamData(team, { eventType: 'teamMemberRemoved' }) },
    ]);
  }

  addTeamMember(team, u, by) {
    team.members.push(u.id);
    return this.post({ type: 'conversationUpdate', from: this.account(by), conversation: this.channelConversation(team, team.id),
      membersAdded: [{ id: u.id, aadObjectId: u.aadObjectId }], channelData: this.teamData(team, { eventType: 'teamMemberAdded' }) });
  }

  installGroupChat(chat, by) {
    chat.installed = true;
    const conversation = this.chatConversation(chat);
    return this.postAll([
      { type: 'installationUpdate', action: 'add', from: this.account(by), conversation, channelData: this.tenant(), entities: this.clientInfo() },
      { type: 'conversationUpdate', from: this.account(by), conversation, channelData: this.tenant(), membersAdded: [{ id: this.side.botId }] },
    ]);
  }

  uninstallGroupChat(chat, by) {
    chat.installed = false;
    const conversation = this.chatConversation(chat);
    return this.postAll([
      { type: 'installationUpdate', action: 'remove', from: this.account(by), conversation, channelData: this.tenant(), entities: this.clientInfo() },
      { type: 'conversationUpdate', from: this.account(by), conversation, channelData: this.tenant(), membersRemoved: [{ id: this.side.botId }] },
    ]);
  }

  addGroupChatMember(chat, u, by) {
    chat.members.push(u.id);
    return this.post({ type: 'conversationUpdate', from: this.account(by), conversation: this.chatConversation(chat),
      channelData: this.tenant(), membersAdded: [{ id: u.id, aadObjectId: u.aadObjectId }] });
  }

  // mention: "<at>Bot</at> command" with the mention entity. A new post in
  // a channel arrives in its own thread: "<channel>;messageid=<its id>".
  mention(where, u, command) {
    const id = this.side.newActivityId();
    const tag = `<at>${this.side.botName}</at>`;
    const base = { id, type: 'message', text: `${tag} ${command}`, textFormat: 'plain', from: this.account(u),
      entities: [{ type: 'mention', mentioned: { id: this.side.botId, name: this.side.botName }, text: tag }, ...this.clientInfo()] };
    if (where.team) {
      return this.post({ ...base, conversation: this.channelConversation(where.team, `${where.channelId};messageid=${id}`),
        channelData: this.teamData(where.team, { channel: { id: where.channelId } }) });
    }
    return this.post({ ...base, conversation: this.chatConversation(where.chat), channelData: this.tenant() });
  }

  // invoke: an Action.Execute on a card the bot posted (replyToId is the
  // card's message; in a channel the conversation is the card's thread).
  invoke(conversation, channelData, u, replyToId, action) {
    return this.post({ type: 'invoke', name: 'adaptiveCard/action', from: this.account(u), conversation, channelData, replyToId,
      value: { action: { type: 'Action.Execute', ...action }, trigger: 'manual' }, entities: this.clientInfo() });
  }
}

module.exports = { Player };

//! The admin panel's words in English, Simplified Chinese and French, one row per word so the
//! three stay together.

macro_rules! words {
    ($($name:ident: $en:literal, $zh:literal, $fr:literal;)*) => {
        pub struct Words {
            pub lang: &'static str,
            pub language_name: &'static str,
            $(pub $name: &'static str,)*
        }
        pub const EN: Words = Words { lang: "en", language_name: "English", $($name: $en,)* };
        pub const ZH_CN: Words = Words { lang: "zh-CN", language_name: "简体中文", $($name: $zh,)* };
        pub const FR: Words = Words { lang: "fr", language_name: "Français", $($name: $fr,)* };
    };
}

words! {
    panel: "Gatehouse admin", "Gatehouse 管理后台", "Administration Gatehouse";
    dashboard: "Dashboard", "仪表盘", "Tableau de bord";
    users: "Users", "用户", "Utilisateurs";
    apps: "Apps", "应用", "Applications";
    roles: "Roles", "角色", "Rôles";
    banners: "App banners", "应用横幅", "Bannières";
    connect_apps: "ePass connect apps", "ePass 连接应用", "Applications ePass connect";
    connect_app_name: "Name (in /connect/<name>)", "名称（用于 /connect/<名称>）", "Nom (dans /connect/<nom>)";
    display_name: "Display name", "显示名称", "Nom affiché";
    redirect_url: "Redirect URL", "回调地址", "URL de redirection";
    redirect_patterns: "Other redirect URLs allowed (one regular expression per line, matched in full)", "允许的其他回调地址（每行一个正则表达式，须完整匹配）", "Autres URL de redirection permises (une expression régulière par ligne, à faire correspondre en entier)";
    sign_in_url: "Sign-in URL", "登录地址", "URL de connexion";
    app_secret: "App secret", "应用密钥", "Secret de l’application";
    new_secret: "Issue a new secret", "生成新密钥", "Émettre un nouveau secret";
    new_secret_hint: "The old secret stops working at once.", "旧密钥将立即失效。", "L’ancien secret cesse aussitôt de fonctionner.";
    logo_url: "Logo URL", "Logo 地址", "URL du logo";
    email_logo_url: "Email logo URL", "邮件 Logo 地址", "URL du logo des e-mails";
    font_family: "Font family", "字体", "Police";
    font_url: "Font URL", "字体地址", "URL de la police";
    layout_color: "Background color", "背景颜色", "Couleur de fond";
    label_color: "Text color", "文字颜色", "Couleur du texte";
    primary_button_color: "Primary button color", "主按钮颜色", "Couleur du bouton principal";
    primary_button_label_color: "Primary button text color", "主按钮文字颜色", "Texte du bouton principal";
    primary_button_border_color: "Primary button border color", "主按钮边框颜色", "Bordure du bouton principal";
    secondary_button_color: "Secondary button color", "次按钮颜色", "Couleur du bouton secondaire";
    secondary_button_label_color: "Secondary button text color", "次按钮文字颜色", "Texte du bouton secondaire";
    secondary_button_border_color: "Secondary button border color", "次按钮边框颜色", "Bordure du bouton secondaire";
    critical_indicator_color: "Error color", "错误提示颜色", "Couleur des erreurs";
    email_sender_name: "Email sender name", "邮件发件人名称", "Nom de l’expéditeur des e-mails";
    terms_link: "Terms of service link", "服务条款链接", "Lien des conditions d’utilisation";
    privacy_policy_link: "Privacy policy link", "隐私政策链接", "Lien de la politique de confidentialité";
    preview: "Preview", "预览", "Aperçu";
    text: "Text", "文本", "Texte";
    scopes: "Scopes", "权限范围", "Portées";
    logs: "Logs", "日志", "Journaux";
    saml: "SAML identity providers", "SAML 身份提供方", "Fournisseurs d’identité SAML";
    keys: "Signing keys", "签名密钥", "Clés de signature";
    account: "My account", "我的账户", "Mon compte";
    sign_out: "Sign out", "退出登录", "Se déconnecter";
    signed_in_as: "Signed in as", "当前登录", "Connecté en tant que";
    skip_to_content: "Skip to content", "跳到内容", "Aller au contenu";
    language: "Language", "语言", "Langue";
    server_info: "Server configuration", "服务器配置", "Configuration du serveur";
    endpoints: "Endpoints", "端点", "Points d’accès";
    discovery: "OpenID discovery", "OpenID 发现文档", "Découverte OpenID";
    jwks: "Public keys (JWKS)", "公钥 (JWKS)", "Clés publiques (JWKS)";
    swagger: "S2S API (Swagger)", "S2S API (Swagger)", "API S2S (Swagger)";
    setting: "Setting", "设置", "Paramètre";
    value: "Value", "值", "Valeur";
    search: "Search", "搜索", "Rechercher";
    search_users: "Search by name or email", "按姓名或邮箱搜索", "Rechercher par nom ou e-mail";
    email: "Email", "邮箱", "E-mail";
    name: "Name", "名称", "Nom";
    first_name: "First name", "名", "Prénom";
    last_name: "Last name", "姓", "Nom de famille";
    password: "Password", "密码", "Mot de passe";
    password_hint: "At least 8 characters with a number, a letter and a special character.", "至少 8 个字符，包含数字、字母和特殊字符。", "Au moins 8 caractères avec un chiffre, une lettre et un caractère spécial.";
    status: "Status", "状态", "Statut";
    active: "Active", "启用", "Actif";
    disabled: "Disabled", "已停用", "Désactivé";
    created: "Created", "创建时间", "Créé le";
    previous: "Previous", "上一页", "Précédent";
    next: "Next", "下一页", "Suivant";
    page_of: "Page {page} of {pages} · {total} in all", "第 {page}/{pages} 页 · 共 {total} 条", "Page {page} sur {pages} · {total} au total";
    nothing_found: "Nothing found.", "没有结果。", "Aucun résultat.";
    create_user: "Create a user", "创建用户", "Créer un utilisateur";
    create: "Create", "创建", "Créer";
    save: "Save", "保存", "Enregistrer";
    delete: "Delete", "删除", "Supprimer";
    disable: "Disable", "停用", "Désactiver";
    enable: "Enable", "启用", "Activer";
    saved: "Saved.", "已保存。", "Enregistré.";
    email_verified: "Email verified", "邮箱已验证", "E-mail vérifié";
    yes: "Yes", "是", "Oui";
    no: "No", "否", "Non";
    sign_in_count: "Sign-ins", "登录次数", "Connexions";
    locale: "Locale", "语言区域", "Langue";
    mfa: "Multi-factor authentication", "多因素认证", "Authentification multifacteur";
    mfa_enrolled: "Enrolled", "已注册", "Inscrit";
    reset: "Reset", "重置", "Réinitialiser";
    passkeys: "Passkeys", "通行密钥", "Clés d’accès";
    linked_identities: "Linked sign-in identities", "已关联的登录身份", "Identités de connexion liées";
    consented_apps: "Apps with consent", "已授权的应用", "Applications autorisées";
    revoke: "Revoke", "撤销", "Révoquer";
    locked_ips: "Locked IPs", "被锁定的 IP", "IP bloquées";
    unlock: "Unlock all", "全部解锁", "Tout débloquer";
    sessions: "Active sessions", "活跃会话", "Sessions actives";
    end_session: "End", "结束", "Terminer";
    orgs: "Organizations", "组织", "Organisations";
    org_groups: "Organization groups", "组织分组", "Groupes d’organisation";
    join: "Join", "加入", "Rejoindre";
    leave: "Leave", "离开", "Quitter";
    attributes: "User attributes", "用户属性", "Attributs utilisateur";
    linked_account: "Linked account", "关联账户", "Compte lié";
    link: "Link", "关联", "Lier";
    unlink: "Unlink", "取消关联", "Délier";
    impersonate: "Impersonate", "模拟登录", "Usurper l’identité";
    impersonate_intro: "Act as this user in a browser app they consented to. The refresh token below is shown once.", "以该用户身份使用其已授权的浏览器应用。下方的刷新令牌只显示一次。", "Agir en tant que cet utilisateur dans une application navigateur qu’il a autorisée. Le jeton ci-dessous n’est affiché qu’une fois.";
    refresh_token: "Refresh token", "刷新令牌", "Jeton de rafraîchissement";
    expires: "Expires", "过期时间", "Expire le";
    invitation: "Invitation", "邀请", "Invitation";
    invite: "Invite by email", "通过邮件邀请", "Inviter par e-mail";
    resend_invitation: "Send the invitation again", "重新发送邀请", "Renvoyer l’invitation";
    verification_email: "Send a verification email", "发送验证邮件", "Envoyer un e-mail de vérification";
    none: "None", "无", "Aucun";
    app_type: "Type", "类型", "Type";
    client_id: "Client id", "客户端 ID", "Identifiant client";
    client_secret: "Client secret", "客户端密钥", "Secret client";
    secret_once: "Copy the secret now: it is not stored and cannot be shown again.", "请立即复制密钥：它不会被保存，也无法再次显示。", "Copiez le secret maintenant : il n’est pas conservé et ne sera plus affiché.";
    redirect_uris: "Redirect URIs (one per line)", "重定向 URI（每行一个）", "URI de redirection (une par ligne)";
    create_app: "Create an app", "创建应用", "Créer une application";
    rotate_refresh_tokens: "Rotate refresh tokens", "轮换刷新令牌", "Rotation des jetons de rafraîchissement";
    use_system_mfa: "Use the server’s MFA settings", "使用服务器的 MFA 设置", "Utiliser les réglages MFA du serveur";
    require_email_mfa: "Require email MFA", "要求邮件 MFA", "Exiger la MFA par e-mail";
    require_otp_mfa: "Require authenticator-app MFA", "要求验证器应用 MFA", "Exiger la MFA par application";
    require_sms_mfa: "Require SMS MFA", "要求短信 MFA", "Exiger la MFA par SMS";
    email_mfa_backup: "Allow email as MFA backup", "允许邮件作为 MFA 备用", "Autoriser l’e-mail en secours MFA";
    note: "Note", "备注", "Note";
    create_role: "Create a role", "创建角色", "Créer un rôle";
    create_scope: "Create a scope", "创建权限范围", "Créer une portée";
    role_users: "Users holding this role", "拥有该角色的用户", "Utilisateurs ayant ce rôle";
    sign_in_logs: "Sign-in log", "登录日志", "Journal des connexions";
    email_logs: "Email log", "邮件日志", "Journal des e-mails";
    sms_logs: "SMS log", "短信日志", "Journal des SMS";
    log_off: "This log is off (enable it in the configuration).", "该日志未开启（请在配置中开启）。", "Ce journal est désactivé (activez-le dans la configuration).";
    time: "Time", "时间", "Heure";
    user: "User", "用户", "Utilisateur";
    ip: "IP", "IP", "IP";
    detail: "Detail", "详情", "Détail";
    cleanup: "Delete entries before", "删除此日期之前的记录", "Supprimer les entrées avant le";
    deleted_entries: "Entries deleted:", "已删除记录：", "Entrées supprimées :";
    receiver: "To", "收件人", "Destinataire";
    kid: "Key id", "密钥 ID", "Identifiant de clé";
    algorithm: "Algorithm", "算法", "Algorithme";
    state: "State", "状态", "État";
    retires: "Retires", "退役时间", "Retrait le";
    rotate_keys: "Rotate the signing key", "轮换签名密钥", "Faire tourner la clé de signature";
    rotate_intro: "A new key signs from now on; the current ones stay published for the overlap period.", "新密钥将立即用于签名；现有密钥在重叠期内保持发布。", "Une nouvelle clé signe dès maintenant ; les actuelles restent publiées pendant la période de chevauchement.";
    account_intro: "Your own account: names, password, email, MFA and passkeys are managed on your account page.", "你的账户：姓名、密码、邮箱、MFA 和通行密钥在账户页面管理。", "Votre compte : noms, mot de passe, e-mail, MFA et clés d’accès se gèrent sur votre page de compte.";
    open_account_page: "Open my account page", "打开我的账户页面", "Ouvrir ma page de compte";
    refused_title: "Access refused", "拒绝访问", "Accès refusé";
    refused_text: "Your account does not hold an administrator role, so it cannot use the admin panel. Sign out and sign in with an administrator account.", "你的账户没有管理员角色，无法使用管理后台。请退出并使用管理员账户登录。", "Votre compte n’a pas de rôle d’administrateur et ne peut pas utiliser l’administration. Déconnectez-vous et connectez-vous avec un compte administrateur.";
    forbidden_title: "Request refused", "请求被拒绝", "Requête refusée";
    csrf_text: "This form was not sent from this admin session (its security token is missing or wrong). Reload the page and try again.", "该表单不是从当前管理会话提交的（安全令牌缺失或错误）。请刷新页面后重试。", "Ce formulaire ne vient pas de cette session d’administration (jeton de sécurité absent ou faux). Rechargez la page et réessayez.";
    session_ended: "Your admin session has ended. Sign in again.", "你的管理会话已结束，请重新登录。", "Votre session d’administration a pris fin. Reconnectez-vous.";
    error_title: "Something went wrong", "出错了", "Une erreur est survenue";
    back: "Back", "返回", "Retour";
    signed_out_title: "Signed out", "已退出", "Déconnecté";
    signed_out_text: "You have left the admin panel.", "你已退出管理后台。", "Vous avez quitté l’administration.";
    sign_in_again: "Sign in again", "重新登录", "Se reconnecter";
    setup_title: "Create the first administrator", "创建第一个管理员", "Créer le premier administrateur";
    setup_intro: "No administrator exists yet. This account gets the super_admin role.", "尚无管理员。此账户将获得 super_admin 角色。", "Aucun administrateur n’existe encore. Ce compte reçoit le rôle super_admin.";
    setup_done: "The administrator was created. Sign in to the admin panel with it.", "管理员已创建。请用它登录管理后台。", "L’administrateur a été créé. Connectez-vous à l’administration avec ce compte.";
    open_panel: "Open the admin panel", "打开管理后台", "Ouvrir l’administration";
}

const ALL: [&Words; 3] = [&EN, &ZH_CN, &FR];

pub fn words(locale: &str) -> &'static Words {
    ALL.into_iter()
        .find(|w| w.lang.eq_ignore_ascii_case(locale))
        .unwrap_or(&EN)
}

/// Every language the panel speaks.
pub fn all() -> [&'static Words; 3] {
    ALL
}

impl Words {
    /// "Page 2 of 7 · 130 in all".
    pub fn page_line(&self, page: u32, pages: u32, total: i64) -> String {
        self.page_of
            .replace("{page}", &page.to_string())
            .replace("{pages}", &pages.to_string())
            .replace("{total}", &total.to_string())
    }
}

// Cognito sends the browser back here after the hosted sign-in; trade the code for the ID token, then go back.
"use strict";

finishCognitoSignIn($("signin-status")).catch((error) => showStatus($("signin-status"), error.message, true));
